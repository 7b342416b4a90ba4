/**
 * A bounded cache with a TTL and LRU eviction, for master-data answers (items, tax lists).
 * Bounded both ways on purpose: a TTL alone lets a busy catalogue grow without limit, a size
 * alone would keep a changed price forever.
 */
export interface ItemCache<V> {
  /** The value when present and fresh; a hit makes it the most recently used. */
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
  /** Entries held, expired ones not yet swept included. */
  size(): number;
}

export interface ItemCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export function createItemCache<V>(options: ItemCacheOptions = {}): ItemCache<V> {
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  if (!(ttlMs >= 0)) throw new RangeError(`cache ttlMs must be >= 0, got ${ttlMs}`);
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new RangeError(`cache maxEntries must be an integer >= 0, got ${maxEntries}`);
  }
  // A Map iterates in insertion order, so re-inserting on use keeps the least recently used first.
  const entries = new Map<string, { value: V; expiresAt: number }>();

  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (now() >= entry.expiresAt) return undefined;
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value) {
      if (maxEntries === 0) return;
      entries.delete(key);
      entries.set(key, { value, expiresAt: now() + ttlMs });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    size() {
      return entries.size;
    },
  };
}

// A control character cannot appear in a validated tenant, store or item code, so keys never collide.
const sep = "\u001f";

/** The cache key of one item as one store of one tenant sells it. */
export function itemKey(tenantId: string, storeCode: string, itemCode: string): string {
  return `${tenantId}${sep}${storeCode}${sep}${itemCode}`;
}
