import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { homedir, tmpdir } from "node:os";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A FerretDB process of a test's own, to kill and start again without touching the shared one. */
export interface LocalFerretDb {
  /** mongodb://127.0.0.1:<port>/ — add the database name. */
  uri: string;
  port: number;
  /** What it stores in: "postgresql" (the machine's, database ferretdb_faults) or "sqlite" (a temp dir). */
  backend: string;
  /** SIGKILL, as a crash: resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it and removes what it owns (the temp dir). */
  close(): Promise<void>;
}

/**
 * The FerretDB binary scripts/ferretdb.sh builds (~/go/bin/ferretdb), on a free port of its own and
 * on the same PostgreSQL as scripts/ferretdb.sh (its own database there), else on SQLite in a temp
 * dir. Undefined when there is no binary (then the Mongo suites say NOT RUN anyway).
 */
export async function startFerretDb(deadlineMs = 30_000): Promise<LocalFerretDb | undefined> {
  const bin = process.env.FERRETDB_BIN ?? `${homedir()}/go/bin/ferretdb`;
  if (!existsSync(bin)) return undefined;
  const dir = mkdtempSync(`${tmpdir()}/pos-ferretdb-`);
  const port = await freePort();
  const backend = (await postgresDatabase("ferretdb_faults"))
    ? ["--handler=postgresql", "--postgresql-url=postgres://postgres@127.0.0.1:5432/ferretdb_faults"]
    : ["--handler=sqlite", `--sqlite-url=file:${dir}/`];
  let child: ChildProcess | undefined;
  // Every process ever started, so that close() leaves none behind whatever happened in between.
  const started: ChildProcess[] = [];
  let output = "";
  const alive = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;

  async function start(): Promise<void> {
    // Already running: a second process on the same port would fail and hide the first one.
    if (alive(child)) return;
    output = "";
    const proc = spawn(
      bin,
      [
        ...backend,
        `--state-dir=${dir}`,
        `--listen-addr=127.0.0.1:${port}`,
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = proc;
    started.push(proc);
    const collect = (b: Buffer) => {
      output += b.toString();
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    const until = Date.now() + deadlineMs;
    while (!(await accepts(port))) {
      if (proc.exitCode !== null) throw new Error(`FerretDB exited at start-up:\n${output}`);
      if (Date.now() > until) throw new Error(`FerretDB not listening on ${port} within ${deadlineMs} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const killOne = (c: ChildProcess) =>
    alive(c)
      ? new Promise<void>((resolve) => {
          c.once("exit", () => resolve());
          c.kill("SIGKILL");
        })
      : Promise.resolve();

  async function kill(): Promise<void> {
    if (child !== undefined) await killOne(child);
  }

  await start();
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    backend: backend[0]?.replace("--handler=", "") ?? "",
    kill,
    start,
    async close() {
      await Promise.all(started.map(killOne));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The machine's PostgreSQL (trust auth on 127.0.0.1, as scripts/ferretdb.sh uses it) with `name` created once. */
async function postgresDatabase(name: string): Promise<boolean> {
  const psql = ["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qtA", "-c"];
  try {
    const { stdout } = await run("psql", [...psql, `select 1 from pg_database where datname = '${name}'`]);
    if (stdout.trim() !== "1") await run("psql", [...psql, `create database ${name}`]);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()));
    });
  });
}
