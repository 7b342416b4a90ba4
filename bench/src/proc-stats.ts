import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** CPU time of a process (all its threads) and of its waited-for children, in milliseconds. */
export interface CpuTimes {
  userMs: number;
  systemMs: number;
  /** CPU of children the process has waited for (cutime + cstime). */
  childrenMs: number;
}

export interface MemoryFacts {
  rssKb: number;
  /** VmHWM: peak resident set since the process started. */
  hwmKb: number;
}

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat times (100 on every Linux we know, but ask). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold spaces or
 * parentheses itself, so fields are counted from the LAST ')'.
 */
export function parseProcStat(text: string, ticks: number): CpuTimes {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  // After ")": field 3 (state) is index 0, so field N is index N - 3.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number): number => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`/proc/<pid>/stat field ${n} is not a number`);
    return value;
  };
  const ms = 1000 / ticks;
  return {
    userMs: field(14) * ms,
    systemMs: field(15) * ms,
    childrenMs: (field(16) + field(17)) * ms,
  };
}

/** VmRSS and VmHWM from /proc/<pid>/status (kB). */
export function parseProcStatus(text: string): MemoryFacts {
  const kb = (name: string): number => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m"));
    if (m === null) throw new Error(`/proc/<pid>/status has no ${name}`);
    return Number(m[1]);
  };
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

export function readCpu(pid: number): CpuTimes {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"), clockTicksPerSecond());
}

export function readMemory(pid: number): MemoryFacts | undefined {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return undefined; // exited
  }
}

export function cpuDeltaMs(before: CpuTimes, after: CpuTimes): number {
  return after.userMs + after.systemMs - (before.userMs + before.systemMs);
}

/** Samples the resident set of some processes while a case runs; the peak is the case's peak RSS. */
export interface RssSampler {
  stop(): Map<number, MemoryFacts & { peakRssKb: number }>;
}

export function sampleRss(pids: readonly number[] | (() => readonly number[]), intervalMs = 100): RssSampler {
  const current = typeof pids === "function" ? pids : () => pids;
  const peak = new Map<number, number>();
  const last = new Map<number, MemoryFacts>();
  const sample = () => {
    for (const pid of current()) {
      const m = readMemory(pid);
      if (m === undefined) continue;
      last.set(pid, m);
      peak.set(pid, Math.max(peak.get(pid) ?? 0, m.rssKb));
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const out = new Map<number, MemoryFacts & { peakRssKb: number }>();
      for (const [pid, m] of last) out.set(pid, { ...m, peakRssKb: peak.get(pid) ?? m.rssKb });
      return out;
    },
  };
}
