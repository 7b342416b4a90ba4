import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// Built by scripts/interop-tools.sh (run by scripts/test.sh) from the versions pinned in interop/go/go.mod.
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const binDir = `${repoRoot}.cache/interop/bin/`;

/** Path of a Go program the interop suites run; a clear failure when it was not built. */
export function interopTool(name: "grpc-interop-client" | "grpc-interop-server" | "connect-peer"): string {
  const path = binDir + name;
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: scripts/test.sh builds it (bash scripts/interop-tools.sh alone does too)`);
  }
  return path;
}

/** The version interop/go/go.mod pins for a module, for test names: what ran is what is named. */
export function pinnedVersion(module: string): string {
  const goMod = readFileSync(`${repoRoot}interop/go/go.mod`, "utf8");
  const match = new RegExp(`^\\s*${module.replaceAll(".", "\\.")} (v\\S+)`, "m").exec(goMod);
  if (match === null) throw new Error(`${module} is not pinned in interop/go/go.mod`);
  return match[1]!;
}

export interface PeerProcess {
  baseUrl: string;
  child: ChildProcessWithoutNullStreams;
  stop(): Promise<void>;
}

/**
 * Starts a server process and waits (up to `timeoutMs`) for the line that names its address;
 * `address` turns that line into a base URL (undefined for any other line).
 */
export function startPeer(
  command: string,
  args: string[],
  address: (line: string) => string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 30_000,
): Promise<PeerProcess> {
  const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  const output: string[] = [];
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end();
    child.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} did not say where it listens within ${timeoutMs} ms:\n${output.join("\n")}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      output.push(line);
      const baseUrl = address(line);
      if (baseUrl === undefined) return;
      clearTimeout(timer);
      resolve({ baseUrl, child, stop });
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before listening:\n${output.join("\n")}`));
    });
  });
}
