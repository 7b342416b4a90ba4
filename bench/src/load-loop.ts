import { createSampleBuffer, type LatencySummary, type SampleBuffer, summarizeLatencies } from "./stats.js";

/** Collects what a window of load produced: latencies per call kind, errors with a few samples. */
export interface Recorder {
  record(kind: string, ms: number, ok: boolean, problem?: string): void;
  readonly requests: number;
  readonly errors: number;
  summary(): { latency: LatencySummary; byCall: Record<string, LatencySummary>; errorSamples: string[] };
}

export function createRecorder(maxSamples = 5): Recorder {
  const all = createSampleBuffer();
  const byKind = new Map<string, SampleBuffer>();
  const samples = new Set<string>();
  let requests = 0;
  let errors = 0;
  return {
    record(kind, ms, ok, problem) {
      requests++;
      all.push(ms);
      let buf = byKind.get(kind);
      if (buf === undefined) {
        buf = createSampleBuffer(1024);
        byKind.set(kind, buf);
      }
      buf.push(ms);
      if (!ok) {
        errors++;
        if (samples.size < maxSamples && problem !== undefined) samples.add(`${kind}: ${problem}`);
      }
    },
    get requests() {
      return requests;
    },
    get errors() {
      return errors;
    },
    summary() {
      const byCall: Record<string, LatencySummary> = {};
      for (const [kind, buf] of byKind) byCall[kind] = summarizeLatencies(buf.values());
      return { latency: summarizeLatencies(all.values()), byCall, errorSamples: [...samples] };
    },
  };
}

/**
 * A closed loop: `workers` loops each run `body` until it returns. `running()` turns false at the
 * deadline; a call started before it still completes and counts, so the window ends when the
 * last in-flight call does.
 */
export async function runWorkers(
  workers: number,
  durationMs: number,
  body: (worker: number, running: () => boolean) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  const deadline = started + durationMs;
  const running = () => performance.now() < deadline;
  await Promise.all(Array.from({ length: workers }, (_, w) => body(w, running)));
  return performance.now() - started;
}

/** Times one call and records it; a thrown error or a `false` check both count as errors. */
export async function timed(rec: Recorder, kind: string, call: () => Promise<string | undefined>): Promise<boolean> {
  const t0 = performance.now();
  let problem: string | undefined;
  try {
    problem = await call();
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
  }
  rec.record(kind, performance.now() - t0, problem === undefined, problem);
  return problem === undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
