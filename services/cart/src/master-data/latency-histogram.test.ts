import { describe, expect, it } from "vitest";
import { createLatencyHistogram } from "./latency-histogram.js";

describe("latency histogram", () => {
  it("is all zeros when empty", () => {
    expect(createLatencyHistogram().summary()).toEqual({ count: 0, sumMs: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });

  it("reports count, mean and quantiles within one 10 % bucket", () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 1_000; i++) h.record(i / 10); // 0.1 … 100 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(1_000);
    expect(s.meanMs).toBeCloseTo(50.05, 5);
    expect(s.p50Ms).toBeGreaterThanOrEqual(50);
    expect(s.p50Ms).toBeLessThanOrEqual(55);
    expect(s.p99Ms).toBeGreaterThanOrEqual(99);
    expect(s.p99Ms).toBeLessThanOrEqual(100);
    expect(s.maxMs).toBe(100);
  });

  it("keeps very slow calls honest", () => {
    const h = createLatencyHistogram();
    h.record(120_000);
    expect(h.summary().p99Ms).toBe(120_000);
  });
});
