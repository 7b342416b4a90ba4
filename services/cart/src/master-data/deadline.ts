import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";

/**
 * The caller's deadline (epoch ms) travels with the call in its context values, so every
 * interceptor sees the same one: the retry interceptor sends no retry that cannot finish before
 * it, the deadline interceptor gives each attempt min(attempt timeout, time left).
 */
export const callerDeadline = createContextKey<number | undefined>(undefined, { description: "caller deadline" });

/** Context values for one call from a caller with `timeoutMs` left (undefined: no deadline of its own). */
export function callContext(timeoutMs: number | undefined, now: () => number = Date.now): ContextValues {
  const values = createContextValues();
  if (timeoutMs !== undefined) values.set(callerDeadline, now() + timeoutMs);
  return values;
}

// Errors that mean "the caller ran out of its own time": not master-data's fault, never retried.
const callerDeadlineErrors = new WeakSet<ConnectError>();

export function isCallerDeadlineError(err: unknown): boolean {
  return err instanceof ConnectError && callerDeadlineErrors.has(err);
}

export function callerDeadlineError(message: string): ConnectError {
  const err = new ConnectError(message, Code.DeadlineExceeded);
  callerDeadlineErrors.add(err);
  return err;
}

export interface DeadlineOptions {
  /** Longest one attempt may take (MASTER_DATA_TIMEOUT_MS). */
  attemptTimeoutMs: number;
  /** The protocol's timeout header (`grpc-timeout`, `connect-timeout-ms`), so the server knows it too. */
  timeoutHeader: { name: string; format(ms: number): string };
  now?: () => number;
}

/**
 * Per attempt: the shorter of the attempt timeout and the caller's time left, sent to the server
 * in the protocol's header and enforced here by aborting the attempt's signal. An attempt cut by
 * the caller's deadline fails with a DeadlineExceeded marked as the caller's (isCallerDeadlineError).
 */
export function createDeadlineInterceptor(options: DeadlineOptions): Interceptor {
  const { attemptTimeoutMs, timeoutHeader } = options;
  const now = options.now ?? Date.now;
  if (!(attemptTimeoutMs > 0)) throw new RangeError(`attempt timeout must be > 0, got ${attemptTimeoutMs}`);
  return (next) => async (req) => {
    const deadline = req.contextValues.get(callerDeadline);
    const remaining = deadline === undefined ? Infinity : deadline - now();
    const callerBound = remaining <= attemptTimeoutMs;
    if (remaining <= 0) throw callerDeadlineError("deadline of the caller passed");
    const ms = Math.min(attemptTimeoutMs, remaining);
    req.header.set(timeoutHeader.name, timeoutHeader.format(ms));
    const parent = req.signal;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(parent.reason);
    if (parent.aborted) onAbort();
    else parent.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new ConnectError(`no answer within ${ms} ms`, Code.DeadlineExceeded));
    }, ms);
    try {
      return await next({ ...req, signal: controller.signal });
    } catch (e) {
      const err = ConnectError.from(e);
      if (parent.aborted) throw err;
      // The server may give up first (it got the same deadline): same meaning as our timer firing.
      if (timedOut || err.code === Code.DeadlineExceeded) {
        if (callerBound) throw callerDeadlineError(`no answer within the caller's deadline (${Math.round(ms)} ms)`);
        throw new ConnectError(`no answer within ${attemptTimeoutMs} ms`, Code.DeadlineExceeded);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      parent.removeEventListener("abort", onAbort);
    }
  };
}
