import type { Interceptor } from "@connectrpc/connect";

/**
 * Call latency as a fixed-bucket histogram: constant memory however many calls the bench
 * makes, and quantiles good to one bucket (bounds grow by 10 %, so ±10 %).
 */
export interface LatencyHistogram {
  record(ms: number): void;
  summary(): LatencySummary;
}

export interface LatencySummary {
  count: number;
  sumMs: number;
  meanMs: number;
  /** Upper bound of the bucket holding the quantile; 0 when nothing was recorded. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const growth = 1.1;
const smallestMs = 0.05;
const largestMs = 60_000;

// 0.05 ms … 60 s in 10 % steps: about 150 buckets; anything slower lands in the last one.
const bounds: number[] = [];
for (let b = smallestMs; b < largestMs; b *= growth) bounds.push(b);
bounds.push(largestMs);

export function createLatencyHistogram(): LatencyHistogram {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  let count = 0;
  let sumMs = 0;
  let maxMs = 0;

  const quantile = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i] ?? 0;
      // The overflow bucket has no upper bound; the largest value seen is the honest answer.
      if (seen >= rank) return Math.min(bounds[i] ?? maxMs, maxMs);
    }
    return maxMs;
  };

  return {
    record(ms) {
      if (!Number.isFinite(ms) || ms < 0) return;
      count++;
      sumMs += ms;
      maxMs = Math.max(maxMs, ms);
      const i = bucketOf(ms);
      counts[i] = (counts[i] ?? 0) + 1;
    },
    summary() {
      return {
        count,
        sumMs,
        meanMs: count === 0 ? 0 : sumMs / count,
        p50Ms: quantile(0.5),
        p99Ms: quantile(0.99),
        maxMs,
      };
    },
  };
}

/** First bucket whose upper bound is >= ms (binary search). */
function bucketOf(ms: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] ?? Infinity) >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Records how long each attempt that reached the transport took, failures included. */
export function createLatencyInterceptor(histogram: LatencyHistogram): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    try {
      return await next(req);
    } finally {
      histogram.record(performance.now() - started);
    }
  };
}
