import type { Interceptor } from "@connectrpc/connect";

/**
 * Call latency as a fixed-bucket histogram: constant memory however many calls the bench
 * makes, and quantiles good to one bucket (bounds grow by 5 %, so ±5 %).
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
  /**
   * The non-empty buckets as [upper bound ms, count], smallest first (over 60 s: the largest
   * call's time stands for the bound): two summaries taken apart in time give the quantiles of the
   * calls between them (windowQuantiles), which a since-start p50 cannot.
   */
  buckets: Array<[number, number]>;
}

const growth = 1.05;
const smallestMs = 0.05;
const largestMs = 60_000;

// 0.05 ms … 60 s in 5 % steps: about 290 buckets; anything slower lands in the last one.
const bounds: number[] = [];
for (let b = smallestMs; b < largestMs; b *= growth) bounds.push(b);
bounds.push(largestMs);

export function createLatencyHistogram(): LatencyHistogram {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  let count = 0;
  let sumMs = 0;
  let maxMs = 0;

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
      const buckets: Array<[number, number]> = [];
      for (let i = 0; i < counts.length; i++) {
        const n = counts[i] ?? 0;
        // The overflow bucket has no upper bound; the largest value seen is the honest one.
        if (n > 0) buckets.push([Math.min(bounds[i] ?? maxMs, maxMs), n]);
      }
      return {
        count,
        sumMs,
        meanMs: count === 0 ? 0 : sumMs / count,
        p50Ms: quantileOf(buckets, 0.5),
        p99Ms: quantileOf(buckets, 0.99),
        maxMs,
        buckets,
      };
    },
  };
}

/** The q-quantile (upper bucket bound) of [bound, count] buckets; 0 when they hold nothing. */
export function quantileOf(buckets: ReadonlyArray<readonly [number, number]>, q: number): number {
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [bound, c] of buckets) {
    seen += c;
    if (seen >= rank) return bound;
  }
  return buckets.at(-1)?.[0] ?? 0;
}

/** p50 and p99 of the calls recorded between two summaries of one histogram (`after` taken later). */
export function windowQuantiles(
  before: Pick<LatencySummary, "buckets">,
  after: Pick<LatencySummary, "buckets">,
): { count: number; p50Ms: number; p99Ms: number } {
  // The overflow bucket's bound is the largest call so far, which may have grown in between.
  const key = (bound: number) => (bound > largestMs ? Infinity : bound);
  const earlier = new Map(before.buckets.map(([bound, c]) => [key(bound), c]));
  const diff: Array<[number, number]> = [];
  for (const [bound, c] of after.buckets) {
    const n = c - (earlier.get(key(bound)) ?? 0);
    if (n > 0) diff.push([bound, n]);
  }
  return {
    count: diff.reduce((n, [, c]) => n + c, 0),
    p50Ms: quantileOf(diff, 0.5),
    p99Ms: quantileOf(diff, 0.99),
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
