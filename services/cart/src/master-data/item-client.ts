import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { Tax } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { callContext, isCallerDeadlineError } from "./deadline.js";
import { createItemBatcher } from "./item-batcher.js";
import { createItemCache, type ItemCacheOptions, itemKey } from "./item-cache.js";
import type { MasterDataTransport, MasterDataTransportStats } from "./transport.js";

/** Who asks: items are priced per store, and master-data logs the terminal. */
export interface ItemScope {
  tenantId: string;
  storeCode: string;
  terminalId: string;
}

/** The caller's own limits, e.g. a cart handler's `HandlerContext.signal` and `timeoutMs()`. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface ItemLookup {
  /** Found items by code. Shared with the cache: treat them as read-only. */
  items: Map<string, Item>;
  /** Requested codes master-data does not know, in request order. */
  notFound: string[];
}

/** What the repository did about items, plus the resilience stats of the transport underneath. */
export interface ItemClientStats extends MasterDataTransportStats {
  /** Item codes and tax lists answered from the cache. */
  cacheHits: number;
  /** Item codes and tax lists not in the cache (fetched or joined to an in-flight fetch). */
  cacheMisses: number;
  /** Lookups that joined another caller's in-flight fetch instead of sending their own. */
  coalesced: number;
  /** Item codes sent in a call shared with other cart calls' codes (batching on). */
  batched: number;
}

export interface ItemClient {
  getItems(scope: ItemScope, codes: readonly string[], call?: CallOptions): Promise<ItemLookup>;
  getTaxes(tenantId: string, call?: CallOptions): Promise<readonly Tax[]>;
  stats(): ItemClientStats;
}

export interface ItemClientOptions {
  /** The item cache (TTL 30 s, 10,000 entries by default). */
  cache?: ItemCacheOptions;
  /** How long a tenant's tax list is reused. */
  taxTtlMs?: number;
  /** Codes per BatchGetItemDetails; master-data accepts up to 500. */
  batchSize?: number;
  /**
   * Send the codes of concurrent cart calls (those that arrived in the same round of I/O) in one
   * call per store (item-batcher.ts). Off: each cart call sends its own. Default on.
   */
  batching?: boolean;
  now?: () => number;
}

const defaults = { taxTtlMs: 5 * 60_000, batchSize: 500 };

/** Errors caused by the caller that owned a shared fetch; someone who joined that fetch tries again. */
const ownerLeft = new WeakSet<ConnectError>();

/**
 * THE master-data repository: one generated client, whichever protocol and client the transport
 * uses. It knows items: cache → coalescing → one batch call per chunk. Deadlines, retries, the
 * breaker and error mapping are interceptors on the transport (transport.ts). Create it once per
 * process: the cache and coalescing only work when shared by all calls.
 */
export function createItemClient(masterData: MasterDataTransport, options: ItemClientOptions = {}): ItemClient {
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? defaults.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`master-data batchSize must be an integer >= 1, got ${batchSize}`);
  }
  const client = createClient(ItemService, masterData.transport);
  const items = createItemCache<Item>({ now, ...options.cache });
  const taxes = createItemCache<readonly Tax[]>({
    now,
    ttlMs: options.taxTtlMs ?? defaults.taxTtlMs,
    maxEntries: 1_000,
  });
  const itemsInFlight = new Map<string, Promise<Item | undefined>>();
  const taxesInFlight = new Map<string, Promise<readonly Tax[]>>();
  const counters = { cacheHits: 0, cacheMisses: 0, coalesced: 0 };
  const batcher =
    options.batching === false
      ? undefined
      : createItemBatcher(fetchChunk, {
          batchSize,
          now,
          markLeft: (err) => ownerLeft.add(err),
        });

  /** The caller's signal and deadline for the interceptors; errors of a caller that left are marked for joiners. */
  async function invoke<T>(
    send: (options: { signal?: AbortSignal | undefined; contextValues: ReturnType<typeof callContext> }) => Promise<T>,
    call: CallOptions,
  ): Promise<T> {
    try {
      return await send({ signal: call.signal, contextValues: callContext(call.timeoutMs) });
    } catch (e) {
      const err = ConnectError.from(e);
      if (call.signal?.aborted || isCallerDeadlineError(err)) ownerLeft.add(err);
      throw err;
    }
  }

  async function fetchChunk(scope: ItemScope, codes: string[], call: CallOptions): Promise<Map<string, Item>> {
    const res = await invoke(
      (o) =>
        client.batchGetItemDetails(
          { tenantId: scope.tenantId, storeCode: scope.storeCode, terminalId: scope.terminalId, itemCodes: codes },
          o,
        ),
      call,
    );
    const found = new Map<string, Item>();
    for (const item of res.items) {
      found.set(item.itemCode, item);
      items.set(itemKey(scope.tenantId, scope.storeCode, item.itemCode), item);
    }
    return found;
  }

  async function lookup(
    scope: ItemScope,
    codes: readonly string[],
    call: CallOptions,
    mayRejoin: boolean,
  ): Promise<ItemLookup> {
    const unique = [...new Set(codes)];
    const results = new Map<string, Item | undefined>();
    const waits: Promise<void>[] = [];
    const toFetch: string[] = [];
    for (const code of unique) {
      const key = itemKey(scope.tenantId, scope.storeCode, code);
      const cached = items.get(key);
      if (cached !== undefined) {
        counters.cacheHits++;
        results.set(code, cached);
        continue;
      }
      counters.cacheMisses++;
      const pending = itemsInFlight.get(key);
      if (pending === undefined) {
        toFetch.push(code);
        continue;
      }
      counters.coalesced++;
      waits.push(
        join(pending, call, mayRejoin, async () => (await lookup(scope, [code], call, false)).items.get(code)).then(
          (item) => void results.set(code, item),
        ),
      );
    }
    if (batcher === undefined) {
      for (let i = 0; i < toFetch.length; i += batchSize) {
        const chunk = toFetch.slice(i, i + batchSize);
        const fetched = fetchChunk(scope, chunk, call);
        for (const code of chunk)
          share(
            scope,
            code,
            fetched.then((found) => found.get(code)),
          );
        waits.push(
          fetched.then((found) => {
            for (const code of chunk) results.set(code, found.get(code));
          }),
        );
      }
    } else {
      const deadline = call.timeoutMs === undefined ? undefined : now() + call.timeoutMs;
      for (const code of toFetch) {
        const one = batcher.load({ scope, code, call, deadline });
        share(scope, code, one);
        waits.push(one.then((item) => void results.set(code, item)));
      }
    }
    await Promise.all(waits);

    const out: ItemLookup = { items: new Map(), notFound: [] };
    for (const code of unique) {
      const item = results.get(code);
      if (item === undefined) out.notFound.push(code);
      else out.items.set(code, item);
    }
    return out;
  }

  /** Records a fetch in flight, so that lookups of the same code join it instead of sending their own. */
  function share(scope: ItemScope, code: string, one: Promise<Item | undefined>): void {
    const key = itemKey(scope.tenantId, scope.storeCode, code);
    // Joiners handle their own rejections; this only keeps an unjoined one from being "unhandled".
    one.catch(() => {});
    itemsInFlight.set(key, one);
    void one
      .finally(() => {
        if (itemsInFlight.get(key) === one) itemsInFlight.delete(key);
      })
      .catch(() => {});
  }

  async function fetchTaxes(tenantId: string, call: CallOptions, mayRejoin: boolean): Promise<readonly Tax[]> {
    const cached = taxes.get(tenantId);
    if (cached !== undefined) {
      counters.cacheHits++;
      return cached;
    }
    counters.cacheMisses++;
    const pending = taxesInFlight.get(tenantId);
    if (pending !== undefined) {
      counters.coalesced++;
      return join(pending, call, mayRejoin, () => fetchTaxes(tenantId, call, false));
    }
    const fetched = invoke((o) => client.listTaxes({ tenantId }, o), call).then((res) => {
      taxes.set(tenantId, res.taxes);
      return res.taxes as readonly Tax[];
    });
    taxesInFlight.set(tenantId, fetched);
    void fetched.finally(() => taxesInFlight.delete(tenantId)).catch(() => {});
    return fetched;
  }

  return {
    async getItems(scope, codes, call = {}) {
      if (codes.length === 0) return { items: new Map(), notFound: [] };
      return lookup(scope, codes, call, true);
    },
    getTaxes(tenantId, call = {}) {
      return fetchTaxes(tenantId, call, true);
    },
    stats: () => ({ ...masterData.stats(), ...counters, batched: batcher?.shared() ?? 0 }),
  };
}

/**
 * Waits for another caller's fetch, within this caller's own signal and deadline. If that fetch
 * failed only because its owner left, this caller fetches for itself (once).
 */
function join<T>(pending: Promise<T>, call: CallOptions, mayRejoin: boolean, again: () => Promise<T>): Promise<T> {
  const mine = pending.catch((e: unknown) => {
    if (mayRejoin && e instanceof ConnectError && ownerLeft.has(e) && call.signal?.aborted !== true) return again();
    throw e;
  });
  if (call.signal === undefined && call.timeoutMs === undefined) return mine;
  const { signal, timeoutMs } = call;
  return new Promise<T>((resolve, reject) => {
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    const onAbort = (): void =>
      finish(() => reject(new ConnectError("master-data call abandoned: the caller went away", Code.Canceled)));
    const onTimeout = (): void =>
      finish(() =>
        reject(
          new ConnectError(
            `master-data did not answer within the caller's deadline (${timeoutMs} ms)`,
            Code.DeadlineExceeded,
          ),
        ),
      );
    const timer = timeoutMs === undefined ? undefined : setTimeout(onTimeout, timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    mine.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
