import { LRUCache } from "lru-cache";

/**
 * A bounded cache with a TTL and LRU eviction, for master-data answers (items, tax lists).
 * Bounded both ways on purpose: a TTL alone lets a busy catalogue grow without limit, a size
 * alone would keep a changed price forever.
 */
export interface ItemCache<V> {
  /** The value when present and fresh; a hit makes it the most recently used. */
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  /** Entries held, expired ones not yet swept included. */
  size(): number;
}

export interface ItemCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export function createItemCache<V extends {}>(options: ItemCacheOptions = {}): ItemCache<V> {
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  if (!(ttlMs >= 0)) throw new RangeError(`cache ttlMs must be >= 0, got ${ttlMs}`);
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new RangeError(`cache maxEntries must be an integer >= 0, got ${maxEntries}`);
  }
  // 0 turns caching off (ITEM_CACHE_TTL_MS=0): lru-cache would read a ttl of 0 as "never expires".
  if (ttlMs === 0 || maxEntries === 0) return { get: () => undefined, set() {}, size: () => 0 };
  const now = options.now;
  const lru = new LRUCache<string, V>({
    max: maxEntries,
    ttl: ttlMs,
    // Exact expiry against the given clock (tests inject one), not a clock cached for a millisecond.
    ttlResolution: 0,
    ...(now !== undefined && { perf: { now } }),
  });
  return {
    get: (key) => lru.get(key),
    set: (key, value) => void lru.set(key, value),
    size: () => lru.size,
  };
}

// A control character cannot appear in a validated tenant, store or item code, so keys never collide.
const sep = "\u001f";

/** The cache key of one item as one store of one tenant sells it. */
export function itemKey(tenantId: string, storeCode: string, itemCode: string): string {
  return `${tenantId}${sep}${storeCode}${sep}${itemCode}`;
}
