import {
  createClientMetricsInterceptor,
  createServiceCredentialInterceptor,
  noTelemetry,
  type ServerSettings,
  type Telemetry,
  type TlsReloadLog,
} from "@pos/common";
import type { CartConfig } from "./config.js";
import { createClientTls } from "./master-data/client-tls.js";
import { createItemClient, type ItemClient } from "./master-data/item-client.js";
import { registerItemClientMetrics } from "./master-data/item-client-metrics.js";
import { createMasterDataTransport, type MasterDataTransportOptions } from "./master-data/transport.js";
import { createRecordDrain, type RecordDrain, registerOutboxMetrics } from "./record-drain.js";
import { createSaleMetrics, noSaleMetrics, type SaleMetrics } from "./sale-metrics.js";
import type { CartStore } from "./store/cart-store.js";
import { createMemoryCartStore } from "./store/memory-cart-store.js";
import { registerMemoryCartStoreMetrics } from "./store/memory-cart-store-metrics.js";
import { createMemoryTransactionLog } from "./store/memory-transaction-log.js";
import { connectMongoTransactionLog } from "./store/mongo-transaction-log.js";
import { connectRedisCartStore } from "./store/redis-cart-store.js";
import { judgePersistence, type PersistenceVerdict } from "./store/redis-persistence.js";
import type { TransactionLog } from "./store/transaction-log.js";

export interface CartDependencies {
  carts: CartStore;
  transactions: TransactionLog;
  items: ItemClient;
  sales: SaleMetrics;
  /** Writes the transaction records Bill/CancelCart could not (the cart store's outbox); start() it once serving. */
  records: RecordDrain;
  /** For the start-up log: what the stores said at start-up (Redis persistence), at their level. */
  notices: PersistenceVerdict[];
  /** For the start-up log: what was chosen. */
  describe: { masterData: string; carts: string; transactions: string };
  close(): Promise<void>;
}

/** What the dependencies report as it happens, e.g. to the service's log. */
export interface CartOptions {
  onBreakerStateChange?: MasterDataTransportOptions["onBreakerStateChange"];
  /** Metrics and tracing (none when not given). */
  telemetry?: Telemetry;
  /** master-data calls moved to the fallback transport, or back to the primary. */
  onMasterDataRouteSwitch?: NonNullable<MasterDataTransportOptions["failover"]>["onSwitch"];
  /** Reloads of cart's TLS files towards master-data (done, or refused and why). */
  tlsLog?: TlsReloadLog;
}

/**
 * Builds what the cart service talks to, ONCE per process: one transport (one
 * HTTP/2 session or one keep-alive agent), one item client (so one breaker, one
 * retry budget, one cache), one cart store, one transaction log.
 */
export async function openCartDependencies(
  config: Omit<CartConfig, keyof ServerSettings>,
  options: CartOptions = {},
): Promise<CartDependencies> {
  const md = config.masterData;
  const { metrics, tracing } = options.telemetry ?? noTelemetry;
  // Each attempt on the wire: a client span (traceparent sent along) and the client histogram.
  const seenAs = { protocol: md.protocol, httpVersion: md.httpVersion };
  const tls =
    md.tls === undefined
      ? undefined
      : createClientTls(md.tls, { reloadIntervalMs: md.tls.reloadIntervalMs, log: options.tlsLog });
  const credential =
    config.masterDataCredential === undefined
      ? undefined
      : await createServiceCredentialInterceptor({ ...config.masterDataCredential, subject: "cart" });
  const transport = createMasterDataTransport(md, {
    tls,
    credential,
    interceptors: [
      ...tracing.clientInterceptors(seenAs),
      ...(metrics === undefined ? [] : [createClientMetricsInterceptor(metrics, seenAs)]),
    ],
    timeoutMs: md.timeoutMs,
    retry: { maxAttempts: md.retryAttempts },
    breaker: {
      name: "master-data",
      failureThreshold: md.breakerFailures,
      minOpenMs: md.breakerMinOpenMs,
      openMs: md.breakerOpenMs,
    },
    onBreakerStateChange: options.onBreakerStateChange,
    failover: { retryPrimaryAfterMs: md.retryPrimaryAfterMs, onSwitch: options.onMasterDataRouteSwitch },
  });
  const items = createItemClient(transport, {
    cache: { ttlMs: md.cacheTtlMs, maxEntries: md.cacheMaxEntries },
    batching: md.batching,
  });
  if (metrics !== undefined) {
    registerItemClientMetrics(metrics, items, {
      protocol: md.protocol,
      http_version: md.httpVersion,
      format: md.format,
    });
  }
  const opened: ({ close(): Promise<void> | void } | { stop(): Promise<void> })[] = [
    ...(tls === undefined ? [] : [tls]),
    transport,
  ];
  try {
    const bounds = {
      ttlSeconds: config.cartTtlSeconds,
      closedTtlSeconds: config.closedCartTtlSeconds,
      maxOpenCartsPerTerminal: config.maxOpenCartsPerTerminal,
    };
    let carts: CartStore;
    const notices: PersistenceVerdict[] = [];
    if (config.redisUrl === undefined) {
      const memory = createMemoryCartStore({
        ...bounds,
        maxCarts: config.memoryMaxCarts,
        maxBytes: config.memoryMaxMb * 1024 * 1024,
      });
      if (metrics !== undefined) registerMemoryCartStoreMetrics(metrics, memory);
      opened.push(memory);
      carts = memory;
    } else {
      const redis = await connectRedisCartStore(config.redisUrl, {
        ...bounds,
        keyPrefix: config.redisKeyPrefix,
        timeoutMs: config.redisTimeoutMs,
      });
      opened.push(redis);
      const verdict = judgePersistence(await redis.persistence(), {
        production: config.production,
        allowNoPersistence: config.redisAllowNoPersistence,
      });
      if (verdict.level === "refuse") throw new Error(verdict.message);
      notices.push(verdict);
      carts = redis;
    }
    const transactions =
      config.mongodbUri === undefined
        ? createMemoryTransactionLog()
        : await connectMongoTransactionLog(config.mongodbUri, { timeoutMs: config.mongodbTimeoutMs });
    opened.push(transactions);
    // Store calls as child spans of the RPC (when tracing is on; the stores themselves otherwise).
    const tracedCarts = tracing.traceMethods(carts, "CartStore", {
      "db.system": config.redisUrl === undefined ? "memory" : "redis",
    });
    const tracedTransactions = tracing.traceMethods(transactions, "TransactionLog", {
      "db.system": config.mongodbUri === undefined ? "memory" : "mongodb",
    });
    const sales = metrics === undefined ? noSaleMetrics : createSaleMetrics(metrics);
    const records = createRecordDrain(
      { carts: tracedCarts, transactions: tracedTransactions, sales },
      { intervalMs: config.recordDrainIntervalMs },
    );
    // Stopped before the stores close (closeAll goes in reverse).
    opened.push(records);
    if (metrics !== undefined) registerOutboxMetrics(metrics, carts);
    return {
      carts: tracedCarts,
      transactions: tracedTransactions,
      items,
      sales,
      records,
      notices,
      describe: {
        masterData: transport.describe + describeTls(md.tls),
        carts:
          config.redisUrl === undefined
            ? "in-memory"
            : `redis (${redactUrl(config.redisUrl)}), TTL ${config.cartTtlSeconds} s (closed ${config.closedCartTtlSeconds} s)`,
        transactions: config.mongodbUri === undefined ? "in-memory" : `mongodb (${redactUrl(config.mongodbUri)})`,
      },
      close: () => closeAll(opened),
    };
  } catch (e) {
    await closeAll(opened).catch(() => undefined);
    throw e;
  }
}

/**
 * Closes in the reverse order of opening (the caller's list stays as it is),
 * every one even when another fails; then rejects with what failed, for the
 * shutdown log.
 */
async function closeAll(
  resources: readonly ({ close(): Promise<void> | void } | { stop(): Promise<void> })[],
): Promise<void> {
  const failures: unknown[] = [];
  for (const resource of [...resources].reverse()) {
    try {
      await ("close" in resource ? resource.close() : resource.stop());
    } catch (e) {
      failures.push(e);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} resources failed to close`);
}

function describeTls(tls: CartConfig["masterData"]["tls"]): string {
  if (tls === undefined) return "";
  const ca = tls.caFile === undefined ? "Node's roots" : tls.caFile;
  return `, TLS (CA ${ca}${tls.certFile === undefined ? "" : `, client certificate ${tls.certFile}`})`;
}

// Never log a password that may sit in a connection URL.
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
