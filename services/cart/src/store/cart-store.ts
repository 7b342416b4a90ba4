import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";

/** What identifies a cart: its id is unique only within a tenant's store. */
export interface CartKey {
  tenantId: string;
  storeCode: string;
  cartId: string;
}

/**
 * Where carts live between requests. Implementations: memory-cart-store.ts
 * (embedded default) and redis-cart-store.ts; both run cart-store.contract.ts.
 *
 * Carts come out READ-ONLY and no caller can alter stored state through a
 * message it passed or received: create() keeps its own copy; get(), update()
 * and the argument of update's `change` are deep-frozen snapshots the store may
 * share between callers (a write to one throws), so reading a cart of hundreds
 * of lines costs no copy. What `change` returns is frozen in place and kept.
 * Every write (create, an update that writes) sets the time to live afresh; an
 * expired cart is gone for every operation.
 *
 * A backend that cannot be reached fails with StoreUnavailableError, one that
 * does not answer in time with StoreTimeoutError (see store-errors.ts), never
 * with a driver's own error.
 */
export interface CartStore {
  /** Stores a new cart; CartExistsError if the key is taken. Sets the TTL. */
  create(cart: Cart): Promise<void>;

  get(key: CartKey): Promise<Cart | undefined>;

  /**
   * Atomic read-modify-write. `change` is PURE (it gets a frozen cart and returns a new one,
   * sharing what did not change, as the sale domain does) and may run several times (on a
   * concurrent modification the store re-reads and re-applies it); it returns
   * the new cart, or undefined for "no write". Errors thrown by `change`
   * propagate and nothing is written. Returns the cart as stored afterwards, or
   * undefined when there is no such cart. Refreshes the TTL on every write.
   * CartConflictError when the update keeps losing races past the store's bound.
   */
  update(key: CartKey, change: (current: Cart) => Cart | undefined): Promise<Cart | undefined>;

  /** Seconds to live left, for tests and ops (-2 none, -1 no TTL). */
  ttlSeconds(key: CartKey): Promise<number>;

  /** Resolves when the backing service answers (readiness); rejects like any other operation when it does not. */
  ping(): Promise<void>;

  /** Releases what the store owns; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** create() of a key that is taken. */
export class CartExistsError extends Error {
  override readonly name = "CartExistsError";
  constructor(readonly key: CartKey) {
    super(`cart "${key.cartId}" already exists in store ${key.storeCode} of tenant ${key.tenantId}`);
  }
}

/** An update lost the race for the cart more often than the store's retry bound allows (service: `aborted`). */
export class CartConflictError extends Error {
  override readonly name = "CartConflictError";
  constructor(
    readonly key: CartKey,
    readonly attempts: number,
  ) {
    super(
      `cart "${key.cartId}" in store ${key.storeCode} kept changing concurrently: gave up after ${attempts} attempts`,
    );
  }
}

export function cartKeyOf(cart: Cart): CartKey {
  return { tenantId: cart.tenantId, storeCode: cart.storeCode, cartId: cart.cartId };
}

/**
 * An update must not move a cart to another key: stores file it under the key
 * it was read from, so the two would silently disagree.
 */
export function assertSameKey(key: CartKey, changed: Cart): void {
  if (changed.tenantId !== key.tenantId || changed.storeCode !== key.storeCode || changed.cartId !== key.cartId) {
    throw new Error(
      `update of cart "${key.cartId}" (${key.tenantId}/${key.storeCode}) returned cart "${changed.cartId}" (${changed.tenantId}/${changed.storeCode}): an update cannot change the key`,
    );
  }
}

/** Ten hours, as in the original system: a cart outlives any shift, not the next day. */
export const defaultCartTtlSeconds = 36_000;

/**
 * Freezes `value` and everything reachable from it that is not frozen yet. A frozen object's
 * subtree was frozen when it was, so a cart that shares most of its lines with the previous
 * version costs one check per shared line.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
