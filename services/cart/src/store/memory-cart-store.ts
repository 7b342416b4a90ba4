import { clone } from "@bufbuild/protobuf";
import { type Cart, CartSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { LRUCache } from "lru-cache";
import {
  assertSameKey,
  CartExistsError,
  type CartKey,
  type CartStore,
  cartKeyOf,
  defaultCartTtlSeconds,
  defaultClosedCartTtlSeconds,
  defaultMaxOpenCartsPerTerminal,
  freezeCart,
  TooManyOpenCartsError,
  terminalIdOf,
} from "./cart-store.js";

export interface MemoryCartStoreOptions {
  /** Default 36,000 (ten hours). */
  ttlSeconds?: number;
  /** Lifetime of a billed or cancelled cart. Default 900. */
  closedTtlSeconds?: number;
  /** Default 50. */
  maxOpenCartsPerTerminal?: number;
  /** Carts kept at most; beyond, the least recently used one is dropped. Default 100,000. */
  maxCarts?: number;
  /** Estimated heap the carts may take (cartHeapBytes); beyond, the least recently used go. Default 256 MiB. */
  maxBytes?: number;
  /** Milliseconds since the epoch; tests pass a clock they move. */
  now?: () => number;
}

/** What the embedded store reports about its bound, for /metrics. */
export interface MemoryCartStoreStats {
  carts: number;
  maxCarts: number;
  /** Estimated heap of the carts held (cartHeapBytes), and its bound. */
  bytes: number;
  maxBytes: number;
  /** Carts dropped because the store was full (least recently used first). */
  evictions: number;
  pendingRecords: number;
}

export type MemoryCartStore = CartStore & { stats(): MemoryCartStoreStats };

export const defaultMaxMemoryCarts = 100_000;
export const defaultMaxMemoryCartBytes = 256 * 1024 * 1024;

/**
 * A cart's heap as measured (`pnpm bench:cart-memory`: ~2.2 KB empty, ~7 KB with 3 lines, ~47 KB with
 * 100), so that the bound holds for long carts as for short ones without walking every object.
 */
export function cartHeapBytes(cart: Cart): number {
  return 2200 + 450 * cart.lines.length + 300 * cart.payments.length;
}

/**
 * The embedded store: carts in process memory, gone on restart. A bounded LRU
 * (lru-cache), by count and by estimated heap: when full, the cart used least
 * recently goes (an idle one, counted in stats().evictions), so a flood of
 * CreateCart or of long carts cannot exhaust the heap. update() needs no retries: `change` is synchronous, so nothing can
 * interleave between its read and its write. Carts are kept as frozen
 * snapshots and handed out as they are: no copy per call, however long the cart.
 * The outbox of pending records is apart from the LRU: a record is never evicted.
 */
export function createMemoryCartStore(options: MemoryCartStoreOptions = {}): MemoryCartStore {
  // lru-cache keeps an entry while its age is <= ttl; a cart is gone once its age reaches the TTL, as in Redis.
  const ttlMs = (options.ttlSeconds ?? defaultCartTtlSeconds) * 1000 - 1;
  const closedTtlMs = (options.closedTtlSeconds ?? defaultClosedCartTtlSeconds) * 1000 - 1;
  const maxOpen = options.maxOpenCartsPerTerminal ?? defaultMaxOpenCartsPerTerminal;
  const maxCarts = options.maxCarts ?? defaultMaxMemoryCarts;
  const maxBytes = options.maxBytes ?? defaultMaxMemoryCartBytes;
  const now = options.now ?? Date.now;
  let evictions = 0;
  /** Open cart ids per terminal; entries of carts gone meanwhile are dropped when counted. */
  const openByTerminal = new Map<string, Set<string>>();
  const pending = new Map<string, { cart: Cart; filedAt: number }>();

  const carts = new LRUCache<string, Cart>({
    max: maxCarts,
    maxSize: maxBytes,
    sizeCalculation: cartHeapBytes,
    ttl: ttlMs,
    // Exact expiry on the given clock: a write sets the TTL afresh, a read does not.
    ttlResolution: 0,
    perf: { now },
    dispose: (_cart, _id, reason) => {
      if (reason === "evict") evictions++;
    },
  });

  function openOf(terminal: string): Set<string> {
    let ids = openByTerminal.get(terminal);
    if (ids === undefined) {
      ids = new Set();
      openByTerminal.set(terminal, ids);
    }
    // Expired or evicted carts are not open any more.
    for (const id of ids) if (!carts.has(id)) ids.delete(id);
    return ids;
  }

  function forgetOpen(cart: Cart, id: string): void {
    const terminal = terminalIdOf(cart);
    const ids = openByTerminal.get(terminal);
    ids?.delete(id);
    if (ids?.size === 0) openByTerminal.delete(terminal);
  }

  function write(key: CartKey, change: (current: Cart) => Cart | undefined, closing: boolean): Cart | undefined {
    const id = entryId(key);
    const current = carts.get(id);
    if (current === undefined) return undefined;
    // Frozen: a change that scribbles on its argument throws instead of leaving a trace.
    const changed = change(current);
    if (changed === undefined) return current;
    assertSameKey(key, changed);
    const stored = freezeCart(changed);
    carts.set(id, stored, { ttl: closing ? closedTtlMs : ttlMs });
    if (closing) {
      pending.set(id, { cart: stored, filedAt: now() });
      forgetOpen(stored, id);
    }
    return stored;
  }

  return {
    async create(cart) {
      const key = cartKeyOf(cart);
      const id = entryId(key);
      if (carts.has(id)) throw new CartExistsError(key);
      const terminal = terminalIdOf(cart);
      const open = openOf(terminal);
      if (open.size >= maxOpen) throw new TooManyOpenCartsError(cart, maxOpen);
      // The caller keeps its object; ours is a frozen copy.
      carts.set(id, freezeCart(clone(CartSchema, cart)), { ttl: ttlMs });
      open.add(id);
    },

    async get(key) {
      return carts.get(entryId(key));
    },

    async update(key, change) {
      return write(key, change, false);
    },

    async closeCart(key, change) {
      return write(key, change, true);
    },

    async pendingRecords({ limit, minAgeMs }) {
      const before = now() - minAgeMs;
      const due: Cart[] = [];
      // A Map iterates in insertion order: oldest first.
      for (const { cart, filedAt } of pending.values()) {
        if (due.length >= limit || filedAt > before) break;
        due.push(cart);
      }
      return due;
    },

    async recorded(key) {
      pending.delete(entryId(key));
    },

    async countPendingRecords() {
      return pending.size;
    },

    async ttlSeconds(key) {
      const id = entryId(key);
      if (!carts.has(id)) return -2;
      // Rounded up: a cart that still exists never reports 0.
      return Math.max(1, Math.ceil(carts.getRemainingTTL(id) / 1000));
    },

    async ping() {},

    async close() {
      carts.clear();
      openByTerminal.clear();
      pending.clear();
    },

    stats: () => ({
      carts: carts.size,
      maxCarts,
      bytes: carts.calculatedSize,
      maxBytes,
      evictions,
      pendingRecords: pending.size,
    }),
  };
}

function entryId(key: CartKey): string {
  return `${key.tenantId}\u0000${key.storeCode}\u0000${key.cartId}`;
}
