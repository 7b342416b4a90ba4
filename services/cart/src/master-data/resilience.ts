import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type BreakerState,
  type CircuitBreakerOptions,
  classifyByCode,
  createBreakerInterceptor,
  createCircuitBreaker,
  isCircuitOpenError,
} from "./circuit-breaker.js";
import { callerDeadlineError, createDeadlineInterceptor, isCallerDeadlineError } from "./deadline.js";
import { createLatencyHistogram, createLatencyInterceptor, type LatencySummary } from "./latency-histogram.js";
import { createRetrier, createRetryInterceptor, type RetryOptions } from "./retry.js";

export interface ResilienceOptions {
  /** Longest a single attempt may take (MASTER_DATA_TIMEOUT_MS); a caller's shorter deadline wins. */
  timeoutMs?: number;
  retry?: RetryOptions;
  breaker?: CircuitBreakerOptions;
  /** Told once per breaker state change, with the reason of the last failure that counted. */
  onBreakerStateChange?: (change: { from: BreakerState; to: BreakerState; lastFailure: string | undefined }) => void;
  now?: () => number;
}

export interface ResilienceStats {
  /** Calls started (retries not included). */
  calls: number;
  /** Extra attempts sent by the retry interceptor. */
  retries: number;
  breaker: BreakerState;
  /** Times the breaker opened, and calls it failed fast. */
  breakerOpened: number;
  breakerRejected: number;
  /** Tokens left in the retry budget (retries stop at half). */
  retryTokens: number;
  /** Latency of every attempt that reached the network, as seen from cart. */
  latency: LatencySummary;
}

export interface Resilience {
  /** Outermost first: error mapping → retry → breaker → deadline → transport failures → latency → the transport. */
  interceptors: Interceptor[];
  stats(): ResilienceStats;
}

const defaults = { timeoutMs: 3_000 };

/**
 * The client-side resilience of cart's calls to master-data, as Connect interceptors. Create it
 * ONCE per process (transport.ts does): the breaker and the retry budget only work when every
 * call shares them.
 */
export function createResilience(
  timeoutHeader: { name: string; format(ms: number): string },
  options: ResilienceOptions = {},
): Resilience {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
  if (!(timeoutMs > 0)) throw new RangeError(`master-data timeoutMs must be > 0, got ${timeoutMs}`);
  const counters = { calls: 0, retries: 0 };
  const retrier = createRetrier({ now, ...options.retry });
  let breakerRef: ReturnType<typeof createCircuitBreaker> | undefined;
  const breaker = createCircuitBreaker({
    name: "master-data",
    now,
    ...options.breaker,
    onStateChange: (from, to) => {
      options.breaker?.onStateChange?.(from, to);
      options.onBreakerStateChange?.({ from, to, lastFailure: breakerRef?.snapshot().lastFailure });
    },
  });
  breakerRef = breaker;
  const latency = createLatencyHistogram();

  const count: Interceptor = (next) => (req) => {
    counters.calls++;
    return next(req);
  };
  const interceptors: Interceptor[] = [
    createErrorMappingInterceptor(timeoutMs),
    count,
    createRetryInterceptor(retrier, {
      isFinal: (err) => isCircuitOpenError(err) || isCallerDeadlineError(err),
      onRetry: () => counters.retries++,
    }),
    // Running out of the caller's time says nothing about master-data's health.
    createBreakerInterceptor(breaker, (e) => (isCallerDeadlineError(e) ? "ignore" : classifyByCode(e))),
    createDeadlineInterceptor({ attemptTimeoutMs: timeoutMs, timeoutHeader, now }),
    createTransportFailureInterceptor(),
    createLatencyInterceptor(latency),
  ];
  return {
    interceptors,
    stats() {
      const b = breaker.snapshot();
      return {
        ...counters,
        breaker: b.state,
        breakerOpened: b.opened,
        breakerRejected: b.rejected,
        retryTokens: retrier.budget.tokens(),
        latency: latency.summary(),
      };
    },
  };
}

/**
 * Maps once, at the edge of the client: cart's handlers see NotFound, Unavailable, Internal, or
 * the caller's own Canceled / DeadlineExceeded, never transport or server text they cannot act on.
 */
export function createErrorMappingInterceptor(timeoutMs: number): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const err = ConnectError.from(e);
      if (req.signal.aborted) {
        const reason = ConnectError.from(req.signal.reason);
        throw new ConnectError(
          `master-data call abandoned: the caller went away (${reason.rawMessage})`,
          reason.code === Code.DeadlineExceeded ? Code.DeadlineExceeded : Code.Canceled,
        );
      }
      if (isCallerDeadlineError(err))
        throw callerDeadlineError(`master-data did not answer within the caller's deadline`);
      throw toClientError(err, timeoutMs);
    }
  };
}

/**
 * What cart's caller reads: the dependency and what went wrong, never an address or a transport's
 * text (those stay on the error's cause, which the server's error log prints with the request id).
 */
function toClientError(err: ConnectError, timeoutMs: number): ConnectError {
  if (isCircuitOpenError(err)) return err;
  const withCause = (message: string, code: Code) => new ConnectError(message, code, undefined, undefined, err);
  switch (err.code) {
    case Code.NotFound: {
      // master-data's ErrorInfo (TENANT_NOT_FOUND, ITEM_NOT_FOUND) says what is missing: pass it on.
      const notFound = new ConnectError(err.rawMessage, Code.NotFound);
      notFound.details.push(...err.details);
      return notFound;
    }
    case Code.DeadlineExceeded:
      return withCause(`master-data unavailable: no answer within ${timeoutMs} ms`, Code.Unavailable);
    case Code.Unavailable:
    case Code.Canceled:
      // Canceled here is not our caller's doing (that is handled before): e.g. a closing server's reset.
      return withCause("master-data unavailable", Code.Unavailable);
    default:
      return withCause(`master-data call failed (${Code[err.code]})`, Code.Internal);
  }
}

/**
 * A call the transport lost (connection reset or closed under it, a stream refused as a GOAWAY
 * arrived), while neither our caller nor the attempt's deadline aborted it: connect-node reports
 * those as `aborted`, `canceled` or, for a refused HTTP/2 stream, `internal`. They say master-data
 * (or the way to it) is not there now: `unavailable`, so that they are retried and counted by the
 * breaker, with the transport's error kept as the cause.
 */
export function createTransportFailureInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const err = ConnectError.from(e);
      if (req.signal.aborted || !isTransportFailure(err)) throw err;
      throw new ConnectError(
        `connection to master-data lost (${Code[err.code]}: ${firstLine(err.rawMessage)})`,
        Code.Unavailable,
        err.metadata,
        undefined,
        err,
      );
    }
  };
}

function isTransportFailure(err: ConnectError): boolean {
  if (err.code === Code.Aborted || err.code === Code.Canceled) return true;
  return err.code === Code.Internal && /REFUSED_STREAM|GOAWAY|ECONNRESET|EPIPE|socket hang up/.test(causeText(err));
}

function causeText(err: ConnectError): string {
  const cause =
    err.cause instanceof Error ? ` ${err.cause.message} ${String((err.cause as { code?: unknown }).code)}` : "";
  return `${err.rawMessage}${cause}`;
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
