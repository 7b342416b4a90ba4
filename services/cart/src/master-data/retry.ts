import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { callerDeadline } from "./deadline.js";

/**
 * Process-wide retry throttling in the spirit of gRPC's (A6 "retry throttling"):
 * failures drain tokens, successes refill them slowly, and retries stop while
 * the bucket is at or below half. During an outage every caller fails once
 * instead of N times, so retries cannot multiply the load on master-data.
 */
export interface RetryBudget {
  /** An attempt failed with a retryable code: costs one token. */
  recordFailure(): void;
  /** An attempt succeeded: earns `tokenRatio` tokens, up to `maxTokens`. */
  recordSuccess(): void;
  /** Whether a retry may be sent now. */
  canRetry(): boolean;
  tokens(): number;
}

export interface RetryBudgetOptions {
  maxTokens?: number;
  tokenRatio?: number;
}

export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const maxTokens = options.maxTokens ?? 10;
  const tokenRatio = options.tokenRatio ?? 0.1;
  if (!(maxTokens > 0)) throw new RangeError(`retry budget maxTokens must be > 0, got ${maxTokens}`);
  if (!(tokenRatio > 0)) throw new RangeError(`retry budget tokenRatio must be > 0, got ${tokenRatio}`);
  // Milli-tokens, as gRPC keeps them: 0.1 added a hundred times is exactly 10.
  const max = Math.round(maxTokens * 1000);
  const earn = Math.round(tokenRatio * 1000);
  let milli = max;
  return {
    recordFailure() {
      milli = Math.max(0, milli - 1000);
    },
    recordSuccess() {
      milli = Math.min(max, milli + earn);
    },
    canRetry() {
      return milli > max / 2;
    },
    tokens() {
      return milli / 1000;
    },
  };
}

/**
 * Only codes that say "the peer did not do it, try again" are retried. A
 * DeadlineExceeded read may have been served already, which is harmless only
 * when the call has no side effects: the caller says so.
 */
export function isRetryableCode(code: Code, idempotent: boolean): boolean {
  return code === Code.Unavailable || (idempotent && code === Code.DeadlineExceeded);
}

/** Full jitter (AWS architecture blog): uniform in [0, min(max, base·2^retry)). */
export function backoffDelayMs(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  /** Attempts in all, the first one included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  budget?: RetryBudget;
  random?: () => number;
  sleep?: Sleep;
  now?: () => number;
}

export interface RetryCall {
  /** The call has no side effects, so a DeadlineExceeded attempt may be repeated. */
  idempotent: boolean;
  /** The caller's signal: once aborted, nothing more is sent. */
  signal?: AbortSignal | undefined;
  /** The caller's deadline (epoch ms, same clock as `now`): no retry that cannot finish before it. */
  deadline?: number | undefined;
  /** Errors that look retryable by code but must not be (a breaker failing fast). */
  isFinal?: (err: ConnectError) => boolean;
  /** Told before each retry, for counters. */
  onRetry?: (attempt: number, delayMs: number, err: ConnectError) => void;
}

export interface Retrier {
  /** Runs `attempt` (numbered from 1) until it succeeds or may not be repeated; throws the last error. */
  run<T>(attempt: (n: number) => Promise<T>, call: RetryCall): Promise<T>;
  readonly budget: RetryBudget;
}

export function createRetrier(options: RetryOptions = {}): Retrier {
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxDelayMs = options.maxDelayMs ?? 1_000;
  const budget = options.budget ?? createRetryBudget();
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }

  return {
    budget,
    async run(attempt, call) {
      for (let n = 1; ; n++) {
        try {
          const result = await attempt(n);
          budget.recordSuccess();
          return result;
        } catch (e) {
          const err = ConnectError.from(e);
          // The caller left: whatever went wrong is not master-data's fault, and nobody waits for a retry.
          if (call.signal?.aborted) throw err;
          if (call.isFinal?.(err) || !isRetryableCode(err.code, call.idempotent)) throw err;
          budget.recordFailure();
          if (n >= maxAttempts || !budget.canRetry()) throw err;
          const delay = backoffDelayMs(n - 1, baseDelayMs, maxDelayMs, random);
          if (call.deadline !== undefined && now() + delay >= call.deadline) throw err;
          call.onRetry?.(n + 1, delay, err);
          try {
            await sleep(delay, call.signal);
          } catch {
            throw err;
          }
          if (call.signal?.aborted) throw err;
        }
      }
    },
  };
}

/** setTimeout that rejects as soon as `signal` aborts, so a leaving caller is not held by a backoff. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Unary calls whose method says it has no side effects (or is idempotent) may repeat a timed-out attempt. */
function isIdempotentMethod(req: UnaryRequest | StreamRequest): boolean {
  const level = req.method.idempotency;
  return (
    level === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || level === MethodOptions_IdempotencyLevel.IDEMPOTENT
  );
}

export interface RetryInterceptorOptions {
  /** Errors that look retryable by code but must not be (a breaker failing fast, the caller's deadline). */
  isFinal?: (err: ConnectError) => boolean;
  onRetry?: RetryCall["onRetry"];
}

/**
 * Runs each unary call through the retrier: the caller's signal stops it, the caller's deadline
 * (context value `callerDeadline`) bounds it, the shared budget throttles it. Streams pass through.
 */
export function createRetryInterceptor(retrier: Retrier, options: RetryInterceptorOptions = {}): Interceptor {
  return (next) => (req) => {
    if (req.stream) return next(req);
    return retrier.run(() => next(req), {
      idempotent: isIdempotentMethod(req),
      signal: req.signal,
      deadline: req.contextValues.get(callerDeadline),
      isFinal: options.isFinal,
      onRetry: options.onRetry,
    });
  };
}
