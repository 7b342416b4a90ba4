import {
  createEnvReader,
  type Env,
  type EnvReader,
  readMongoSettings,
  readPemFiles,
  readServerSettings,
  type ServerSettings,
  secureContextOf,
} from "@pos/common";
import type { ClientTlsFiles } from "./master-data/client-tls.js";
import {
  type ClientKind,
  checkTransportConfig,
  clientKinds,
  type MasterDataTransportConfig,
} from "./master-data/transport.js";
import { parseRedisUrl } from "./store/redis-url.js";

export interface CartConfig extends ServerSettings {
  masterData: MasterDataTransportConfig & {
    timeoutMs: number;
    retryAttempts: number;
    breakerFailures: number;
    /** The breaker's first open period, doubled after each failed probe up to breakerOpenMs. */
    breakerMinOpenMs: number;
    breakerOpenMs: number;
    cacheTtlMs: number;
    cacheMaxEntries: number;
    /** One BatchGetItemDetails for the codes of concurrent cart calls (item-batcher.ts). */
    batching: boolean;
    /** While on the fallback, the first call after this long tries the primary again. */
    retryPrimaryAfterMs?: number;
    /** https:// master-data: CA and client certificate files (MASTER_DATA_CA_FILE, …); Node's roots when absent. */
    tls?: (ClientTlsFiles & { reloadIntervalMs?: number | undefined }) | undefined;
  };
  /** Unset: the embedded in-memory cart store. */
  redisUrl: string | undefined;
  redisTimeoutMs: number;
  /** Put before every Redis key: several deployments (or test runs) on one Redis stay apart. */
  redisKeyPrefix: string;
  /** Start without Redis persistence (AOF or RDB) in production, knowing carts die with Redis. */
  redisAllowNoPersistence: boolean;
  /** NODE_ENV=production: refusals instead of warnings where a default would lose data. */
  production: boolean;
  cartTtlSeconds: number;
  /** cart's own credential at master-data (AUTH_SERVICE_KEY_FILE); none = calls without one. */
  masterDataCredential: { keyFile: string; audience: string } | undefined;
  /** Lifetime of a billed or cancelled cart: long enough for a repeated Bill or GetCart. */
  closedCartTtlSeconds: number;
  maxOpenCartsPerTerminal: number;
  /** The in-memory store's bounds (REDIS_URL unset): carts, and their estimated heap. */
  memoryMaxCarts: number;
  memoryMaxMb: number;
  /** Pause between passes of the outbox drain (pending transaction records). */
  recordDrainIntervalMs: number;
  /** Transaction log; unset: embedded in-memory. */
  mongodbUri: string | undefined;
  mongodbTimeoutMs: number;
}

export function readCartConfig(env: Env): CartConfig {
  const r = createEnvReader(env);
  const server = readServerSettings(r, "CART_PORT", 8003);
  const serviceKeyFile = server.auth.serviceKeyFile;
  const config: CartConfig = {
    ...server,
    ...readMongoSettings(r),
    masterDataCredential:
      serviceKeyFile === undefined
        ? undefined
        : { keyFile: serviceKeyFile, audience: r.string("AUTH_JWT_AUDIENCE", "pos-connect") },
    masterData: {
      url: r.url("MASTER_DATA_URL", "http://127.0.0.1:8002", ["http:", "https:"]).toString().replace(/\/$/, ""),
      protocol: r.oneOf("MASTER_DATA_PROTOCOL", "grpc", ["connect", "grpc", "grpc-web"]),
      httpVersion: r.oneOf("MASTER_DATA_HTTP_VERSION", "2", ["1.1", "2"]),
      format: r.oneOf("MASTER_DATA_FORMAT", "binary", ["binary", "json"]),
      client: r.oneOf<ClientKind>("MASTER_DATA_CLIENT", "fast", clientKinds),
      timeoutMs: r.int("MASTER_DATA_TIMEOUT_MS", 3000, 10, 120_000),
      retryAttempts: r.int("MASTER_DATA_RETRY_ATTEMPTS", 3, 1, 10),
      breakerFailures: r.int("MASTER_DATA_BREAKER_FAILURES", 5, 1, 1000),
      breakerMinOpenMs: r.int("MASTER_DATA_BREAKER_MIN_OPEN_MS", 250, 10, 600_000),
      breakerOpenMs: r.int("MASTER_DATA_BREAKER_OPEN_MS", 1000, 10, 600_000),
      cacheTtlMs: r.int("ITEM_CACHE_TTL_MS", 30_000, 0, 86_400_000),
      cacheMaxEntries: r.int("ITEM_CACHE_MAX_ENTRIES", 10_000, 0, 1_000_000),
      batching: r.bool("MASTER_DATA_BATCHING", true),
      retryPrimaryAfterMs: r.int("MASTER_DATA_FALLBACK_RETRY_PRIMARY_MS", 5000, 10, 3_600_000),
    },
    redisUrl: r.optionalString("REDIS_URL"),
    redisTimeoutMs: r.int("REDIS_TIMEOUT_MS", 1000, 10, 60_000),
    redisKeyPrefix: r.string("REDIS_KEY_PREFIX", ""),
    redisAllowNoPersistence: r.bool("REDIS_ALLOW_NO_PERSISTENCE", false),
    production: r.string("NODE_ENV", "") === "production",
    cartTtlSeconds: r.int("CART_TTL_SECONDS", 36_000, 1, 30 * 86_400),
    closedCartTtlSeconds: r.int("CLOSED_CART_TTL_SECONDS", 900, 1, 30 * 86_400),
    maxOpenCartsPerTerminal: r.int("MAX_OPEN_CARTS_PER_TERMINAL", 50, 1, 10_000),
    memoryMaxCarts: r.int("MEMORY_CART_STORE_MAX_CARTS", 100_000, 1, 10_000_000),
    memoryMaxMb: r.int("MEMORY_CART_STORE_MAX_MB", 256, 1, 1_000_000),
    recordDrainIntervalMs: r.int("RECORD_DRAIN_INTERVAL_MS", 1000, 10, 600_000),
  };
  // A fallback transport only when its protocol is named; the rest defaults to the primary's, over HTTP/1.1.
  const fallbackProtocol = r.optionalString("MASTER_DATA_FALLBACK_PROTOCOL");
  if (fallbackProtocol !== undefined) {
    const md = config.masterData;
    config.masterData.fallback = {
      url: r.url("MASTER_DATA_FALLBACK_URL", md.url, ["http:", "https:"]).toString().replace(/\/$/, ""),
      protocol: r.oneOf("MASTER_DATA_FALLBACK_PROTOCOL", "connect", ["connect", "grpc", "grpc-web"]),
      httpVersion: r.oneOf("MASTER_DATA_FALLBACK_HTTP_VERSION", "1.1", ["1.1", "2"]),
      format: r.oneOf("MASTER_DATA_FALLBACK_FORMAT", md.format, ["binary", "json"]),
      client: md.client,
    };
  }
  config.masterData.tls = readMasterDataTls(r, [config.masterData.url, config.masterData.fallback?.url]);
  const redisTarget = config.redisUrl === undefined ? undefined : parseRedisUrl(config.redisUrl);
  if (redisTarget?.kind === "invalid") r.problem(`REDIS_URL ${redisTarget.problem}`);
  // Rate limits count in cart's Redis unless told otherwise: every replica then shares one budget.
  if (
    config.rateLimits !== undefined &&
    config.rateLimits.redisUrl === undefined &&
    /^rediss?:\/\//.test(config.redisUrl ?? "")
  ) {
    config.rateLimits.redisUrl = config.redisUrl;
  }
  for (const problem of checkTransportConfig(config.masterData)) r.problem(problem);
  r.done();
  return config;
}

/**
 * MASTER_DATA_CA_FILE (the CA master-data's certificate must chain to) and
 * MASTER_DATA_CLIENT_CERT_FILE + _KEY_FILE (cart's certificate for mTLS), re-read every
 * MASTER_DATA_TLS_RELOAD_INTERVAL_MS. Checked now: unusable files stop cart at start-up.
 */
function readMasterDataTls(r: EnvReader, urls: (string | undefined)[]): CartConfig["masterData"]["tls"] {
  const caFile = r.optionalString("MASTER_DATA_CA_FILE");
  const certFile = r.optionalString("MASTER_DATA_CLIENT_CERT_FILE");
  const keyFile = r.optionalString("MASTER_DATA_CLIENT_KEY_FILE");
  const reloadIntervalMs = r.int("MASTER_DATA_TLS_RELOAD_INTERVAL_MS", 5000, 0, 86_400_000);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    r.problem("MASTER_DATA_CLIENT_CERT_FILE and MASTER_DATA_CLIENT_KEY_FILE must be set together");
    return undefined;
  }
  if (caFile === undefined && certFile === undefined) return undefined;
  if (!urls.some((url) => url?.startsWith("https:"))) {
    r.problem(
      "MASTER_DATA_CA_FILE and MASTER_DATA_CLIENT_CERT_FILE are for TLS: MASTER_DATA_URL (or MASTER_DATA_FALLBACK_URL) must be https://",
    );
    return undefined;
  }
  try {
    secureContextOf(readPemFiles({ ca: caFile, cert: certFile, key: keyFile }));
  } catch (e) {
    r.problem(`MASTER_DATA_CA_FILE/MASTER_DATA_CLIENT_CERT_FILE/MASTER_DATA_CLIENT_KEY_FILE: ${(e as Error).message}`);
    return undefined;
  }
  return { caFile, certFile, keyFile, reloadIntervalMs };
}

/**
 * The longest one cart call may take with every dependency slow: the master-data lookup with all
 * its attempts and backoffs (retry.ts: full jitter below 50 ms · 2^n, at most 1 s), then a read
 * and a compare-and-set in the cart store and, for Bill, a number and a record in the transaction
 * log. Shutdown lets calls in flight run this long (see run-service.ts).
 */
export function cartRequestBudgetMs(config: CartConfig): number {
  const md = config.masterData;
  let backoff = 0;
  for (let retry = 0; retry < md.retryAttempts - 1; retry++) backoff += Math.min(1_000, 50 * 2 ** retry);
  const masterData = md.timeoutMs * md.retryAttempts + backoff;
  const carts = config.redisUrl === undefined ? 0 : 2 * config.redisTimeoutMs;
  const transactions = config.mongodbUri === undefined ? 0 : 2 * config.mongodbTimeoutMs;
  return masterData + carts + transactions;
}
