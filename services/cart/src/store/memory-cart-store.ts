import { clone } from "@bufbuild/protobuf";
import { type Cart, CartSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import {
  assertSameKey,
  CartExistsError,
  type CartKey,
  type CartStore,
  cartKeyOf,
  deepFreeze,
  defaultCartTtlSeconds,
} from "./cart-store.js";

export interface MemoryCartStoreOptions {
  /** Default 36,000 (ten hours). */
  ttlSeconds?: number;
  /** Milliseconds since the epoch; tests pass a clock they move. */
  now?: () => number;
}

interface Entry {
  cart: Cart;
  expiresAt: number;
}

/**
 * The embedded store: carts in process memory, gone on restart. Expiry is lazy
 * (checked on access) plus an occasional sweep so that abandoned carts do not
 * pile up. update() needs no retries: `change` is synchronous, so nothing can
 * interleave between its read and its write. Carts are kept as frozen snapshots
 * and handed out as they are: no copy per call, however long the cart.
 */
export function createMemoryCartStore(options: MemoryCartStoreOptions = {}): CartStore {
  const ttlMs = (options.ttlSeconds ?? defaultCartTtlSeconds) * 1000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let nextSweepAt = now() + ttlMs;

  function live(id: string): Entry | undefined {
    const entry = entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(id);
      return undefined;
    }
    return entry;
  }

  function sweep(): void {
    const t = now();
    if (t < nextSweepAt) return;
    for (const [id, entry] of entries) if (entry.expiresAt <= t) entries.delete(id);
    // At most one full pass per TTL: amortised O(1) per create.
    nextSweepAt = t + ttlMs;
  }

  return {
    async create(cart) {
      sweep();
      const key = cartKeyOf(cart);
      const id = entryId(key);
      if (live(id) !== undefined) throw new CartExistsError(key);
      // The caller keeps its object; ours is a frozen copy.
      entries.set(id, { cart: deepFreeze(clone(CartSchema, cart)), expiresAt: now() + ttlMs });
    },

    async get(key) {
      return live(entryId(key))?.cart;
    },

    async update(key, change) {
      const id = entryId(key);
      const entry = live(id);
      if (entry === undefined) return undefined;
      // Frozen: a change that scribbles on its argument throws instead of leaving a trace.
      const changed = change(entry.cart);
      if (changed === undefined) return entry.cart;
      assertSameKey(key, changed);
      const stored = deepFreeze(changed);
      entries.set(id, { cart: stored, expiresAt: now() + ttlMs });
      return stored;
    },

    async ttlSeconds(key) {
      const entry = live(entryId(key));
      // Rounded up: a cart that still exists never reports 0.
      return entry === undefined ? -2 : Math.ceil((entry.expiresAt - now()) / 1000);
    },

    async ping() {},

    async close() {
      entries.clear();
    },
  };
}

function entryId(key: CartKey): string {
  return `${key.tenantId}\u0000${key.storeCode}\u0000${key.cartId}`;
}
