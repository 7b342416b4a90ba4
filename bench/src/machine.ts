import { execFileSync } from "node:child_process";
import os from "node:os";

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  kernel: string;
  loadAverageAtStart: number[];
  gitCommit: string;
  tools: Record<string, string>;
}

function quiet(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    // wrk -v exits 1 after printing its version.
    const out = (e as { stdout?: unknown }).stdout;
    return typeof out === "string" && out.trim() !== "" ? out.trim() : undefined;
  }
}

export function machineFacts(toolPaths: Record<string, string>): MachineFacts {
  const tools: Record<string, string> = {};
  for (const [name, path] of Object.entries(toolPaths)) {
    const version =
      name === "wrk"
        ? quiet(path, ["-v"])
        : name === "h2load"
          ? quiet(path, ["--version"])
          : quiet(path, ["--version"]);
    const first = (version ?? "unknown").split("\n")[0] ?? "unknown";
    // A ghz built from the module (bench/run.sh) calls itself "dev"; run.sh says which module it was.
    tools[name] =
      (first === "dev" || first === "" || first === "unknown") && process.env.BENCH_GHZ_MODULE !== undefined
        ? process.env.BENCH_GHZ_MODULE
        : first;
  }
  const commit = quiet("git", ["rev-parse", "--short", "HEAD"]) ?? "unknown";
  const dirty = (quiet("git", ["status", "--porcelain"]) ?? "") !== "";
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    gitCommit: dirty ? `${commit} (with uncommitted changes)` : commit,
    tools,
  };
}
