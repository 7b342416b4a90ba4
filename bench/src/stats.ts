/** Latency summary of one case, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array (q in 0..1); 0 for no samples. */
export function percentile(sortedAscending: ArrayLike<number>, q: number): number {
  const n = sortedAscending.length;
  if (n === 0) return 0;
  if (q <= 0) return sortedAscending[0] ?? 0;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sortedAscending[rank - 1] ?? 0;
}

/** The nearest-rank median (the lower middle value of an even count); 0 for no values. */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function summarizeLatencies(samplesMs: readonly number[] | Float64Array): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    meanMs: sorted.length === 0 ? 0 : sum / sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] ?? 0),
  };
}

/**
 * ours / baseline, or undefined when either side is missing or the baseline is 0: a ratio
 * of measurements taken in the same run, so machine-wide noise largely cancels.
 */
export function ratio(ours: number | undefined, baseline: number | undefined): number | undefined {
  if (ours === undefined || baseline === undefined || !Number.isFinite(ours) || !Number.isFinite(baseline))
    return undefined;
  if (baseline === 0) return undefined;
  return ours / baseline;
}

/** CPU time per request in microseconds; undefined when nothing completed. */
export function cpuPerRequestUs(cpuMs: number, requests: number): number | undefined {
  return requests > 0 ? (cpuMs * 1000) / requests : undefined;
}

/** A growable list of latency samples that does not box numbers. */
export interface SampleBuffer {
  push(v: number): void;
  values(): Float64Array;
  readonly length: number;
}

export function createSampleBuffer(initial = 1 << 14): SampleBuffer {
  let data = new Float64Array(initial);
  let n = 0;
  return {
    push(v) {
      if (n === data.length) {
        const grown = new Float64Array(data.length * 2);
        grown.set(data);
        data = grown;
      }
      data[n++] = v;
    },
    values: () => data.subarray(0, n),
    get length() {
      return n;
    },
  };
}
