import { describe, expect, it } from "vitest";
import { cpuDeltaMs, parseProcStat, parseProcStatus, readCpu, readMemory } from "./proc-stats.js";

describe("/proc parsing", () => {
  // A real line shape; the command name holds a space and a ')' to prove fields count from the last ')'.
  const stat =
    "4242 (node (main) x) S 1 4242 4242 0 -1 4194304 5000 0 0 0 1234 567 89 11 20 0 11 0 100 1000000 20000 18446744073709551615 1 1 0 0 0 0 0 16781312 134235650 0 0 0 17 1 0 0 0 0 0";

  it("reads utime, stime and the waited children's times in ms", () => {
    expect(parseProcStat(stat, 100)).toEqual({ userMs: 12_340, systemMs: 5_670, childrenMs: 1_000 });
    expect(parseProcStat(stat, 1000)).toEqual({ userMs: 1_234, systemMs: 567, childrenMs: 100 });
  });

  it("rejects what is not a stat line", () => {
    expect(() => parseProcStat("garbage", 100)).toThrow(/not a \/proc/);
  });

  it("reads VmRSS and VmHWM from status", () => {
    const status = "Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n";
    expect(parseProcStatus(status)).toEqual({ rssKb: 102_400, hwmKb: 204_800 });
    expect(() => parseProcStatus("Name:\tnode\n")).toThrow(/VmRSS/);
  });

  it("measures this very process, whose CPU only goes up", () => {
    const before = readCpu(process.pid);
    let x = 0;
    for (let i = 0; i < 5_000_000; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    expect(cpuDeltaMs(before, readCpu(process.pid))).toBeGreaterThanOrEqual(0);
    expect(readMemory(process.pid)?.rssKb).toBeGreaterThan(1000);
  });
});
