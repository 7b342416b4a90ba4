import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LocalRedisCluster {
  /** For REDIS_URL: every master, e.g. redis-cluster://127.0.0.1:41001,127.0.0.1:41002,127.0.0.1:41003 */
  url: string;
  ports: number[];
  close(): Promise<void>;
}

/**
 * A throw-away Redis Cluster of `masters` masters (no replicas) on free loopback ports: redis-server
 * --cluster-enabled yes per node, joined by `redis-cli --cluster create`, ready once every node says
 * cluster_state:ok.
 */
export async function startRedisCluster(masters = 3, deadlineMs = 30_000): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(`${tmpdir()}/pos-redis-cluster-`);
  const nodes: ChildProcess[] = [];
  const ports: number[] = [];
  const close = async () => {
    await Promise.all(
      nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.exitCode !== null || node.signalCode !== null) return resolve();
            node.once("exit", () => resolve());
            node.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort(ports);
      ports.push(port);
      nodes.push(await startNode(port, dir, deadlineMs));
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    const until = Date.now() + deadlineMs;
    for (const port of ports) {
      for (;;) {
        const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"]);
        if (/cluster_state:ok/.test(stdout)) break;
        if (Date.now() > until)
          throw new Error(`Redis Cluster node ${port} not ok within ${deadlineMs} ms:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`, ports, close };
}

/** A single throw-away redis-server, e.g. with `["--appendonly", "yes"]` or CONFIG renamed away. */
export interface LocalRedisServer {
  url: string;
  port: number;
  /** SIGKILL: resolves once it is gone. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** redis-server on a free loopback port, no persistence unless `args` say otherwise (later args win). */
export async function startRedisServer(args: string[] = [], deadlineMs = 30_000): Promise<LocalRedisServer> {
  const dir = mkdtempSync(`${tmpdir()}/pos-redis-`);
  const port = await listenAndRelease(0);
  const node = await startNode(port, dir, deadlineMs, args);
  const kill = () =>
    new Promise<void>((resolve) => {
      if (node.exitCode !== null || node.signalCode !== null) return resolve();
      node.once("exit", () => resolve());
      node.kill("SIGKILL");
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startNode(port: number, dir: string, deadlineMs: number, args?: string[]): Promise<ChildProcess> {
  const mode = args === undefined ? ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`] : args;
  const node = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...mode],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready:\n${out}`)), deadlineMs);
    node.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve(node);
      }
    });
    node.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited with ${code}:\n${out}`));
    });
  });
}

/** A free port whose cluster bus port (+10000) is free too. */
async function freeClusterPort(taken: number[]): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await listenAndRelease(0);
    if (port + 10_000 > 65_535 || taken.includes(port)) continue;
    try {
      await listenAndRelease(port + 10_000);
      return port;
    } catch {
      // The bus port is in use: try another.
    }
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

function listenAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const chosen = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(chosen));
    });
  });
}
