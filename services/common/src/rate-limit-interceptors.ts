import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "@pos/gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "@pos/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { hasRole, principalKey } from "./auth/principal.js";
import { retryLater } from "./errors.js";
import type { LimitLog } from "./limit-log.js";
import type { RateLimits, RateTier } from "./rate-limit.js";
import { remoteAddressKey } from "./remote-address.js";
import { requestLogKey } from "./request-log.js";

/** Who a request counts against, and in which tier. */
export interface Caller {
  key: string;
  tier: RateTier;
}

// Methods anyone may call without a credential, counted by remote address.
const openServices = new Set<string>([ServerReflectionV1.typeName, ServerReflectionV1Alpha.typeName]);

/**
 * THE one place that says whom a request counts against, and in which tier: a call with a credential
 * by the principal the auth interceptor proved (it runs just outside this one) — admins privileged,
 * terminals and staff authenticated, services (cart calling master-data for many terminals) not
 * limited: the terminals behind it are limited at cart. Anonymous callers of open methods
 * (reflection) count by remote address.
 */
export function callerOf(req: UnaryRequest | StreamRequest): Caller | undefined {
  const principal = req.contextValues.get(principalKey);
  if (principal !== undefined) {
    if (principal.kind === "service" || hasRole(principal, ["service"])) return undefined;
    const tier: RateTier = hasRole(principal, ["admin"]) ? "privileged" : "authenticated";
    return { key: `${principal.kind}:${principal.tenant}:${principal.subject}`, tier };
  }
  if (!openServices.has(req.service.typeName)) return undefined;
  return { key: `address:${req.contextValues.get(remoteAddressKey) ?? "unknown"}`, tier: "anonymous" };
}

export interface RateLimitInterceptorOptions {
  limits: RateLimits;
  /** Requests per window, per tier: for the message. */
  tiers: Record<RateTier, number>;
  windowSeconds: number;
  /** Services never limited (health: see README). */
  exempt: ReadonlySet<string>;
  /** Whom a call counts against; callerOf unless given (tests key every call by address). */
  callerOf?: (req: UnaryRequest | StreamRequest) => Caller | undefined;
  log: LimitLog;
}

/**
 * Per-caller rate limits: over its tier's budget a call is `resource_exhausted` with a
 * google.rpc.RetryInfo (when the window frees a request) and ErrorInfo RATE_LIMITED. A limiter
 * that fails (its store) lets the call through, logged: the limits protect the service, they must
 * not take it down.
 */
export function createRateLimitInterceptor(options: RateLimitInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    if (options.exempt.has(req.service.typeName)) return next(req);
    const caller = (options.callerOf ?? callerOf)(req);
    if (caller === undefined) return next(req);
    let admission: Awaited<ReturnType<RateLimits["take"]>>;
    try {
      admission = await options.limits.take(caller.tier, caller.key);
    } catch (e) {
      req.contextValues.get(requestLogKey).warn({ err: (e as Error).message }, "rate limiter failed; call let through");
      return next(req);
    }
    if (admission.allowed) return next(req);
    options.log.bite(`rate_limit_${caller.tier}`, req.contextValues.get(remoteAddressKey));
    const limit = options.tiers[caller.tier];
    throw retryLater(
      "RATE_LIMITED",
      `rate limit reached: ${limit} requests per ${options.windowSeconds} s for ${caller.tier} callers; retry in ${seconds(admission.retryAfterMs)} s`,
      admission.retryAfterMs,
      { tier: caller.tier, limit: String(limit), window_seconds: String(options.windowSeconds) },
    );
  };
}

/**
 * Failed authentications per remote address: composed around the authentication interceptor, it
 * counts each `unauthenticated` it lets out; an address that used up its budget gets
 * `resource_exhausted` (RetryInfo, ErrorInfo TOO_MANY_FAILED_AUTHENTICATIONS) without its
 * credentials being checked, until the window ends. What is blocked is remembered in this process
 * (no store call per request); the count itself is shared through the limits' store.
 */
export function createFailedAuthInterceptor(limits: RateLimits, log: LimitLog): Interceptor {
  const blockedUntil = new Map<string, number>();
  return (next) => async (req) => {
    const address = req.contextValues.get(remoteAddressKey) ?? "unknown";
    const until = blockedUntil.get(address);
    if (until !== undefined) {
      const left = until - Date.now();
      if (left > 0) throw tooManyFailures(left);
      blockedUntil.delete(address);
    }
    try {
      return await next(req);
    } catch (e) {
      if (e instanceof ConnectError && e.code === Code.Unauthenticated) {
        const admission = await limits.failedAuth(address).catch(() => ({ allowed: true }) as const);
        if (!admission.allowed) {
          log.bite("failed_authentications", address);
          // Bounded: expired entries go whenever the map grows large (many addresses).
          if (blockedUntil.size >= 10_000) {
            const now = Date.now();
            for (const [blocked, end] of blockedUntil) if (end <= now) blockedUntil.delete(blocked);
          }
          blockedUntil.set(address, Date.now() + admission.retryAfterMs);
        }
      }
      throw e;
    }
  };
}

function tooManyFailures(retryAfterMs: number): ConnectError {
  return retryLater(
    "TOO_MANY_FAILED_AUTHENTICATIONS",
    `too many failed authentications from this address; retry in ${seconds(retryAfterMs)} s`,
    retryAfterMs,
  );
}

function seconds(ms: number): string {
  return Math.max(0.1, ms / 1000).toFixed(1);
}
