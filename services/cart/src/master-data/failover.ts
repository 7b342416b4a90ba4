import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";

export type Route = "primary" | "fallback";

export interface FailoverOptions {
  /** The fallback wire (no interceptors of its own: the resilience chain runs once, above both). */
  fallback: Transport;
  /** How the primary's timeout header reads, to give the fallback the same deadline in its own protocol. */
  primaryTimeoutHeader: { name: string; parse(value: string): number | undefined };
  /** While on the fallback, the first call after this long tries the primary again. */
  retryPrimaryAfterMs?: number;
  /** Told once per switch, with the failure that caused it (none when returning to the primary). */
  onSwitch?: (change: { to: Route; reason: string | undefined }) => void;
  now?: () => number;
}

export interface FailoverStats {
  route: Route;
  switchesToFallback: number;
  switchesToPrimary: number;
  /** Calls answered (or failed) by the fallback. */
  fallbackCalls: number;
}

export interface Failover {
  /** The innermost interceptor of the primary's chain: sends the call on the route in use. */
  interceptor: Interceptor;
  stats(): FailoverStats;
}

// The primary cannot be reached or does not speak its protocol there (refused, reset, HTTP/2 refused, a
// content type or framing it did not expect). An answer of the server's own (not found, bad argument...)
// says the primary works.
const wireFailures = new Set([Code.Unavailable, Code.Unknown, Code.Internal, Code.Unimplemented]);

/**
 * Primary first; when it fails at the connection or protocol level the call is sent again at once on the
 * fallback, and later calls go there too, until a call tried on the primary after `retryPrimaryAfterMs`
 * succeeds. Calls stopped by their own deadline or caller never switch.
 */
export function createFailover(options: FailoverOptions): Failover {
  const now = options.now ?? Date.now;
  const retryPrimaryAfterMs = options.retryPrimaryAfterMs ?? 5_000;
  const stats: FailoverStats = { route: "primary", switchesToFallback: 0, switchesToPrimary: 0, fallbackCalls: 0 };
  let onFallbackSince = 0;

  const switchTo = (to: Route, reason: string | undefined): void => {
    if (stats.route === to) return;
    stats.route = to;
    if (to === "fallback") {
      stats.switchesToFallback++;
      onFallbackSince = now();
    } else {
      stats.switchesToPrimary++;
    }
    options.onSwitch?.({ to, reason });
  };

  const interceptor: Interceptor = (next) => async (req) => {
    if (req.stream) return next(req);
    const viaFallback = () => {
      stats.fallbackCalls++;
      const header = new Headers(req.header);
      const timeout = header.get(options.primaryTimeoutHeader.name);
      header.delete(options.primaryTimeoutHeader.name);
      const timeoutMs = timeout === null ? undefined : options.primaryTimeoutHeader.parse(timeout);
      return options.fallback.unary(req.method, req.signal, timeoutMs, header, req.message, req.contextValues);
    };
    const probing = stats.route === "fallback" && now() - onFallbackSince >= retryPrimaryAfterMs;
    if (stats.route === "fallback" && !probing) return viaFallback();
    try {
      const res = await next(req);
      if (probing) switchTo("primary", undefined);
      return res;
    } catch (e) {
      const err = ConnectError.from(e);
      if (req.signal.aborted || !wireFailures.has(err.code)) throw e;
      if (probing) onFallbackSince = now();
      else switchTo("fallback", err.rawMessage);
      return viaFallback();
    }
  };

  return { interceptor, stats: () => ({ ...stats }) };
}
