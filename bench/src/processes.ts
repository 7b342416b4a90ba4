import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { type ServiceProcess, spawnService } from "@pos/common/testing";
import type { ClientEvent, ClientResult, ClientSpec } from "./client-spec.js";
import { clockTicksPerSecond, parseProcStat } from "./proc-stats.js";

export interface RunningServer {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A server under test in its own process (node --import tsx ENTRY), ready once it names its port. */
export async function startServer(name: string, entry: string, env: Record<string, string>): Promise<RunningServer> {
  const proc: ServiceProcess = spawnService(entry, env);
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error(`${name}: could not be started`);
  let port: number;
  try {
    port = await proc.port(60_000);
  } catch (e) {
    await proc.stop("SIGKILL");
    throw e;
  }
  return {
    name,
    pid,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const stopped = proc.stop("SIGTERM");
      const timer = setTimeout(() => proc.child.kill("SIGKILL"), 5000);
      await stopped;
      clearTimeout(timer);
    },
  };
}

/** Runs the Node load client (its own process) and returns its result; progress as it comes. */
export function runNodeClient(
  entry: string,
  spec: ClientSpec,
  onProgress: (e: Extract<ClientEvent, { event: "progress" }>) => void,
  onStart: (pid: number) => void,
  timeoutMs: number,
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    // --expose-gc: the client collects its own garbage between warm-up and window (load-client.ts).
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", entry, JSON.stringify(spec)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    if (child.pid !== undefined) onStart(child.pid);
    // A stuck client (a server that stopped answering) must not hang the whole run.
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${timeoutMs} ms`;
      child.kill("SIGKILL");
    }, timeoutMs);
    let result: ClientResult | undefined;
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    createInterface({ input: child.stdout }).on("line", (line) => {
      let event: ClientEvent;
      try {
        event = JSON.parse(line) as ClientEvent;
      } catch {
        stderr += `${line}\n`;
        return;
      }
      if (event.event === "progress") onProgress(event);
      else result = event.result;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`load client exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

export interface ToolProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** CPU the tool used (all its threads), from the kernel's accounting of a waited child. */
  cpuMs: number;
  pid: number | undefined;
}

/**
 * Runs an external tool under `sh`, which waits for it and then dumps its own /proc stat: the
 * child's CPU shows up there as cutime + cstime, exact, even though the tool has exited.
 */
export function runTool(
  command: string,
  args: string[],
  statFile: string,
  onStart?: (pid: number) => void,
): Promise<ToolProcessResult> {
  return new Promise((resolve, reject) => {
    const script = '"$@"; rc=$?; cat /proc/$$/stat > "$BENCH_STAT_FILE"; exit $rc';
    const child = spawn("sh", ["-c", script, "sh", command, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, BENCH_STAT_FILE: statFile },
    });
    if (child.pid !== undefined) onStart?.(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      void readFile(statFile, "utf8")
        .then((stat) => parseProcStat(stat, clockTicksPerSecond()).childrenMs)
        .catch(() => 0)
        .then(async (cpuMs) => {
          await rm(statFile, { force: true });
          resolve({ code, stdout, stderr, cpuMs, pid: child.pid });
        });
    });
  });
}

/** The children of a process (to find the tool under its `sh` wrapper for RSS sampling). */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
