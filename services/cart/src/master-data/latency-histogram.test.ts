import { describe, expect, it } from "vitest";
import { createLatencyHistogram, windowQuantiles } from "./latency-histogram.js";

describe("latency histogram", () => {
  it("is all zeros when empty", () => {
    expect(createLatencyHistogram().summary()).toEqual({
      count: 0,
      sumMs: 0,
      meanMs: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      buckets: [],
    });
  });

  it("reports count, mean and quantiles within one 5 % bucket", () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 1_000; i++) h.record(i / 10); // 0.1 … 100 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(1_000);
    expect(s.meanMs).toBeCloseTo(50.05, 5);
    expect(s.p50Ms).toBeGreaterThanOrEqual(50);
    expect(s.p50Ms).toBeLessThanOrEqual(52.5);
    expect(s.p99Ms).toBeGreaterThanOrEqual(99);
    expect(s.p99Ms).toBeLessThanOrEqual(100);
    expect(s.buckets.reduce((n, [, c]) => n + c, 0)).toBe(1_000);
    expect(s.maxMs).toBe(100);
  });

  it("keeps very slow calls honest", () => {
    const h = createLatencyHistogram();
    h.record(120_000);
    expect(h.summary().p99Ms).toBe(120_000);
  });

  it("gives the quantiles of the calls between two summaries, not of everything since the start", () => {
    const h = createLatencyHistogram();
    for (let i = 0; i < 1_000; i++) h.record(200); // a slow, queued warm-up
    const before = h.summary();
    for (let i = 0; i < 100; i++) h.record(1 + i / 100); // the window: 1 … 1.99 ms
    const after = h.summary();
    expect(after.p50Ms).toBeGreaterThan(190);
    const w = windowQuantiles(before, after);
    expect(w.count).toBe(100);
    expect(w.p50Ms).toBeGreaterThanOrEqual(1.49);
    expect(w.p50Ms).toBeLessThanOrEqual(1.57);
    expect(w.p99Ms).toBeGreaterThanOrEqual(1.98);
    expect(w.p99Ms).toBeLessThanOrEqual(2.1);
  });

  it("counts calls over 60 s in the window even when the slowest one grew in between", () => {
    const h = createLatencyHistogram();
    h.record(70_000);
    const before = h.summary();
    h.record(90_000);
    const w = windowQuantiles(before, h.summary());
    expect(w).toEqual({ count: 1, p50Ms: 90_000, p99Ms: 90_000 });
  });
});
