import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { createClient } from "redis";

/** The caller classes of the original design notes, each with its own budget of requests a window. */
export type RateTier = "anonymous" | "authenticated" | "privileged";

export interface RateLimitSettings {
  /** Requests per window and caller, per tier (100 / 1,000 / 5,000 a minute by default). */
  tiers: Record<RateTier, number>;
  /** Failed authentication attempts per window and remote address. */
  failedAuthAttempts: number;
  /** The window, in whole seconds (Redis counts in seconds). */
  windowSeconds: number;
  /** Redis shared by every replica (redis:// or rediss://); in this process's memory when undefined. */
  redisUrl: string | undefined;
}

export const defaultRateLimits: Omit<RateLimitSettings, "redisUrl"> = {
  tiers: { anonymous: 100, authenticated: 1000, privileged: 5000 },
  failedAuthAttempts: 10,
  windowSeconds: 60,
};

/** The outcome of one request against a budget. */
export type Admission = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Budgets per key (a caller, an address): the one thing the interceptors need from rate-limiter-flexible. */
export interface RateLimits {
  /** Counts one request of `key` against `tier`'s budget. */
  take(tier: RateTier, key: string): Promise<Admission>;
  /** Counts one failed authentication of `address`: not allowed once that used up its budget. */
  failedAuth(address: string): Promise<Admission>;
  close(): Promise<void>;
}

/**
 * Rate limits on rate-limiter-flexible: fixed windows counted in Redis (RateLimiterRedis, one
 * atomic Lua INCR per request, so every replica shares the budget) when a Redis URL is given,
 * else in memory (RateLimiterMemory, per process). A Redis that stops answering does not stop the
 * service: each Redis limiter has an in-memory insurance limiter that counts meanwhile.
 */
export async function createRateLimits(settings: RateLimitSettings, service: string): Promise<RateLimits> {
  let redis: ReturnType<typeof createClient> | undefined;
  if (settings.redisUrl !== undefined) {
    redis = createClient({
      url: settings.redisUrl,
      // Fail fast: a request waits on this before its handler runs.
      socket: { connectTimeout: 1000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000) },
      disableOfflineQueue: true,
    });
    // Waited for a moment only: a Redis that is down at start-up must not stop the service. Until
    // it answers (rejectIfRedisNotReady), the in-memory insurance limiters count.
    redis.on("error", () => {});
    const connecting = redis.connect().then(
      () => undefined,
      () => undefined,
    );
    await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const common = { keyPrefix: `rl:${service}:${name}`, points, duration: settings.windowSeconds };
    if (redis === undefined) return new RateLimiterMemory(common);
    return new RateLimiterRedis({
      ...common,
      storeClient: redis,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(common),
    });
  };
  const tiers: Record<RateTier, RateLimiterAbstract> = {
    anonymous: limiter("anonymous", settings.tiers.anonymous),
    authenticated: limiter("authenticated", settings.tiers.authenticated),
    privileged: limiter("privileged", settings.tiers.privileged),
  };
  const auth = limiter("failed-auth", settings.failedAuthAttempts);
  return {
    take: (tier, key) => admit(tiers[tier].consume(key)),
    // The failure that uses the last point already blocks: N failures a window, then none.
    failedAuth: (address) => admit(auth.consume(address), false),
    async close() {
      if (redis === undefined) return;
      // A client still reconnecting would wait for Redis to close politely: drop it instead.
      if (redis.isReady) await redis.close();
      else if (redis.isOpen) redis.destroy();
    },
  };
}

async function admit(consumed: Promise<RateLimiterRes>, lastAllowed = true): Promise<Admission> {
  try {
    const res = await consumed;
    if (!lastAllowed && res.remainingPoints <= 0) return { allowed: false, retryAfterMs: res.msBeforeNext };
    return { allowed: true };
  } catch (e) {
    // Over the budget: rejected with the limiter's result. Anything else is a store failure.
    if (e instanceof RateLimiterRes) return { allowed: false, retryAfterMs: e.msBeforeNext };
    throw e;
  }
}
