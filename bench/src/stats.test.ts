import { describe, expect, it } from "vitest";
import { cpuPerRequestUs, createSampleBuffer, median, percentile, ratio, summarizeLatencies } from "./stats.js";

describe("percentiles (nearest rank)", () => {
  const oneToHundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  it.each([
    [0.5, 50],
    [0.9, 90],
    [0.99, 99],
    [1, 100],
    [0, 1],
    [0.001, 1],
  ])("q=%s of 1..100 is %s", (q, want) => {
    expect(percentile(oneToHundred, q)).toBe(want);
  });

  it("answers 0 for no samples and the sample for one", () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it("summarizes unsorted samples", () => {
    const s = summarizeLatencies([5, 1, 4, 2, 3]);
    expect(s).toEqual({ count: 5, meanMs: 3, p50Ms: 3, p90Ms: 5, p99Ms: 5, maxMs: 5 });
  });
});

describe("median (nearest rank)", () => {
  it("takes the middle value of an odd count and the lower middle of an even one, whatever the order", () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([7])).toBe(7);
    expect(median([])).toBe(0);
  });
});

describe("ratios against a baseline", () => {
  it("divides ours by the baseline", () => {
    expect(ratio(150, 100)).toBe(1.5);
    expect(ratio(50, 200)).toBe(0.25);
  });
  it("has no ratio when a side is missing or the baseline is zero", () => {
    expect(ratio(undefined, 100)).toBeUndefined();
    expect(ratio(100, undefined)).toBeUndefined();
    expect(ratio(100, 0)).toBeUndefined();
    expect(ratio(Number.NaN, 1)).toBeUndefined();
  });
  it("turns CPU milliseconds into microseconds per request", () => {
    expect(cpuPerRequestUs(1200, 4000)).toBe(300);
    expect(cpuPerRequestUs(10, 0)).toBeUndefined();
  });
});

describe("sample buffer", () => {
  it("grows past its initial size and keeps every value in order", () => {
    const b = createSampleBuffer(2);
    for (let i = 0; i < 10; i++) b.push(i);
    expect(b.length).toBe(10);
    expect([...b.values()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
