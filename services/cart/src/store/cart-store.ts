import { freezeMessage, reusableListLength } from "@pos/common";
import { type Cart, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";

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
  /**
   * Stores a new cart; CartExistsError if the key is taken, TooManyOpenCartsError when its terminal
   * already has the store's cap of open carts (neither billed nor cancelled nor expired). Sets the TTL.
   */
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

  /**
   * update() for the change that CLOSES a cart (Bill, CancelCart): when `change` writes, the closed
   * cart is also filed in the store's outbox of records to write, in the same atomic write, so a
   * closed cart never exists without its pending record (the transactional outbox: the transaction
   * log may be down right now). The closed cart lives `closedTtlSeconds`; its outbox entry has no
   * TTL and stays until recorded() says the log has it.
   */
  closeCart(key: CartKey, change: (current: Cart) => Cart | undefined): Promise<Cart | undefined>;

  /**
   * Closed carts whose record is not confirmed yet, oldest first: at most `limit`, each filed at
   * least `minAgeMs` ago (younger ones are most likely being recorded by their Bill right now).
   */
  pendingRecords(options: { limit: number; minAgeMs: number }): Promise<Cart[]>;

  /** The transaction log holds this closed cart's record: drop it from the outbox (idempotent). */
  recorded(key: CartKey): Promise<void>;

  /** How many closed carts wait for their record (for the metrics: records piling up mean the log is down). */
  countPendingRecords(): Promise<number>;

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

/** create() of a cart whose terminal has `cap` open carts already (service: `resource_exhausted`). */
export class TooManyOpenCartsError extends Error {
  override readonly name = "TooManyOpenCartsError";
  constructor(
    readonly cart: Pick<Cart, "tenantId" | "storeCode" | "terminalId">,
    readonly cap: number,
  ) {
    super(
      `terminal ${cart.terminalId} in store ${cart.storeCode} of tenant ${cart.tenantId} has ${cap} open carts, the most it may have (MAX_OPEN_CARTS_PER_TERMINAL): bill or cancel one first`,
    );
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
 * A billed or cancelled cart is kept only for a repeated Bill/CancelCart/GetCart after a lost answer
 * (its record lives in the transaction log, its pending record in the outbox): 15 minutes.
 */
export const defaultClosedCartTtlSeconds = 900;

/** Open carts one terminal may have at once: a lane parks a few sales, never dozens. */
export const defaultMaxOpenCartsPerTerminal = 50;

/** A closed cart (billed or cancelled) is final: nothing changes it any more. */
export function isClosed(cart: Pick<Cart, "status">): boolean {
  return cart.status === CartStatus.COMPLETED || cart.status === CartStatus.CANCELLED;
}

/** The open carts of one terminal are counted per tenant, store and terminal. */
export function terminalIdOf(cart: Pick<Cart, "tenantId" | "storeCode" | "terminalId">): string {
  return `${cart.tenantId}\u0000${cart.storeCode}\u0000${cart.terminalId}`;
}

/**
 * Freezes a cart for sharing between calls (the stores hand out the same object until it
 * changes), and everything reachable from it that is not frozen yet: a cart that shares most of
 * its lines with the previous version costs one check per shared line. The lines of a long cart
 * are also recorded as frozen messages, so toBinaryReusing (responses, the Redis value) reuses
 * their cached bytes; a short cart's are not, as a record per line costs the GC more than
 * encoding a short list saves.
 */
export function freezeCart(cart: Cart): Cart {
  if (cart.lines.length >= reusableListLength) for (const line of cart.lines) freezeMessage(line);
  return deepFreeze(cart);
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  // Indexes and for-in rather than Object.values: no array per object on every store write.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) deepFreeze(record[key]);
  }
  return value;
}
