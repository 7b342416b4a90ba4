import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

export type BreakerState = "closed" | "open" | "half-open";

/** How one attempt's outcome counts: against the peer, for it, or not at all (the caller left). */
export type Outcome = "failure" | "success" | "ignore";

export interface CircuitBreakerOptions {
  /** Named in the fail-fast message, e.g. "master-data". */
  name?: string;
  /** Consecutive failures that open the breaker. */
  failureThreshold?: number;
  /**
   * The longest the breaker stays open before one probe is let through. It opens for minOpenMs
   * first, twice as long after each failed probe, up to this.
   */
  openMs?: number;
  /** The first open period (default 250 ms, or openMs when that is shorter). */
  minOpenMs?: number;
  /** Each open period is shortened by up to a quarter of it at random, so that processes do not probe in step. */
  random?: () => number;
  now?: () => number;
  /** Told on every state change, for a log line. */
  onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** Times the breaker went to open. */
  opened: number;
  /** Calls failed fast without reaching the peer. */
  rejected: number;
  /** When an open breaker lets the next probe through (epoch ms), undefined unless open. */
  retryAt: number | undefined;
  /** Short reason of the last failure that counted. */
  lastFailure: string | undefined;
}

export interface CircuitBreaker {
  /**
   * Runs `attempt` unless the breaker is open (then throws Unavailable, see isCircuitOpenError);
   * `classify` decides how a failed attempt counts.
   */
  run<T>(attempt: () => Promise<T>, classify?: (err: unknown) => Outcome): Promise<T>;
  state(): BreakerState;
  snapshot(): BreakerSnapshot;
}

// ConnectError's own instanceof check rejects subclasses with another name, so the fail-fast
// errors are plain ConnectErrors, remembered here.
const openErrors = new WeakSet<ConnectError>();

/** Whether `err` is a breaker's fail-fast error (Unavailable without reaching the peer). */
export function isCircuitOpenError(err: unknown): boolean {
  return err instanceof ConnectError && openErrors.has(err);
}

const failureCodes = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Internal, Code.Unknown]);

/**
 * Server faults count as failures; any other answer (NotFound, InvalidArgument…) proves the peer
 * is alive; Canceled means our caller left, which says nothing about the peer.
 */
export function classifyByCode(err: unknown): Outcome {
  const code = ConnectError.from(err).code;
  if (code === Code.Canceled) return "ignore";
  return failureCodes.has(code) ? "failure" : "success";
}

/**
 * closed → open after N consecutive failures → after the open period, half-open lets ONE probe
 * through → its success closes, its failure re-opens for twice as long (minOpenMs, 2×, 4× … up to
 * openMs, each with jitter), so a peer that comes back is noticed within about openMs of it
 * listening while a peer that stays down costs one probe per period. Meant to be created once
 * per peer and process: a breaker made per request never sees enough failures to open.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const name = options.name ?? "peer";
  const failureThreshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 1_000;
  const minOpenMs = Math.min(options.minOpenMs ?? 250, openMs);
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    throw new RangeError(`failureThreshold must be an integer >= 1, got ${failureThreshold}`);
  }
  if (!(openMs >= 0)) throw new RangeError(`openMs must be >= 0, got ${openMs}`);
  if (!(minOpenMs >= 0)) throw new RangeError(`minOpenMs must be >= 0, got ${minOpenMs}`);

  let state: BreakerState = "closed";
  let consecutiveFailures = 0;
  let opened = 0;
  let rejected = 0;
  let openedAt = 0;
  /** How long the current open period lasts; reopens since the breaker last closed. */
  let openFor = minOpenMs;
  let reopens = 0;
  let probeInFlight = false;
  let lastFailure: string | undefined;
  let lastFailureCode: string | undefined;

  const goTo = (to: BreakerState): void => {
    if (to === state) return;
    const from = state;
    state = to;
    options.onStateChange?.(from, to);
  };
  const open = (): void => {
    openedAt = now();
    opened++;
    const period = Math.min(openMs, minOpenMs * 2 ** Math.min(reopens, 30));
    openFor = period * (1 - 0.25 * random());
    reopens++;
    goTo("open");
  };

  const failFast = (): ConnectError => {
    rejected++;
    const retryAt = openedAt + openFor;
    const when =
      state === "half-open"
        ? "a probe is in flight"
        : `next probe in ${Math.max(0, (retryAt - now()) / 1000).toFixed(1)} s`;
    // The code only: the reason's text (addresses, driver messages) is for the log, not the caller.
    const cause = lastFailureCode === undefined ? "" : ` (last: ${lastFailureCode})`;
    const err = new ConnectError(
      `${name} unavailable: circuit breaker open after ${failureThreshold} consecutive failures${cause}; ${when}`,
      Code.Unavailable,
    );
    openErrors.add(err);
    return err;
  };

  /** Whether this call may go out; a call let through in half-open is the probe. */
  const admit = (): { probe: boolean } | undefined => {
    if (state === "open" && now() >= openedAt + openFor) goTo("half-open");
    if (state === "closed") return { probe: false };
    if (state === "half-open" && !probeInFlight) {
      probeInFlight = true;
      return { probe: true };
    }
    return undefined;
  };

  const settle = (outcome: Outcome, probe: boolean, err?: unknown): void => {
    if (probe) probeInFlight = false;
    if (outcome === "ignore") return;
    if (outcome === "success") {
      consecutiveFailures = 0;
      // A slow success from before the breaker opened says little; only the probe closes it.
      if (probe || state === "closed") {
        reopens = 0;
        goTo("closed");
      }
      return;
    }
    consecutiveFailures++;
    lastFailure = shortReason(err);
    lastFailureCode = Code[ConnectError.from(err).code];
    if (probe || (state === "closed" && consecutiveFailures >= failureThreshold)) open();
  };

  // Reading the state should not need a call to notice that the open period is over.
  const currentState = (): BreakerState => (state === "open" && now() >= openedAt + openFor ? "half-open" : state);

  return {
    async run(attempt, classify = classifyByCode) {
      const ticket = admit();
      if (ticket === undefined) throw failFast();
      try {
        const result = await attempt();
        settle("success", ticket.probe);
        return result;
      } catch (e) {
        settle(classify(e), ticket.probe, e);
        throw e;
      }
    },
    state: currentState,
    snapshot() {
      return {
        state: currentState(),
        consecutiveFailures,
        opened,
        rejected,
        retryAt: state === "open" ? openedAt + openFor : undefined,
        lastFailure,
      };
    },
  };
}

function shortReason(err: unknown): string {
  const e = ConnectError.from(err);
  const text = e.rawMessage.split("\n", 1)[0] ?? "";
  return `${Code[e.code]}: ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}

/**
 * Every attempt passes the breaker: it fails fast while open and counts each outcome with
 * `classify` (by default classifyByCode). Put it inside the retry interceptor, so that each
 * retry counts, and outside the deadline interceptor, so that it sees each attempt's timeout.
 */
export function createBreakerInterceptor(breaker: CircuitBreaker, classify?: (err: unknown) => Outcome): Interceptor {
  return (next) => (req) => breaker.run(() => next(req), classify);
}
