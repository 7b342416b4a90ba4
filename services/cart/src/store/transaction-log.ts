import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { CartKey } from "./cart-store.js";

/** A cart and the terminal it belongs to: numbers count per tenant, store and terminal. */
export type TerminalCart = CartKey & { terminalId: string };

export interface TransactionRecord {
  kind: "sale" | "cancel";
  /** The final cart, with transactionNo set. */
  cart: Cart;
}

/**
 * The sale/cancel log that Bill and CancelCart write exactly once per cart.
 * Implementations: memory-transaction-log.ts (embedded default) and
 * mongo-transaction-log.ts; both run transaction-log.contract.ts.
 *
 * Records go in and come out as copies. A backend that cannot be reached fails
 * with StoreUnavailableError, one too slow with StoreTimeoutError (see
 * store-errors.ts), never with a driver's own error.
 */
export interface TransactionLog {
  /**
   * The transaction number of a cart about to close: the next of its terminal
   * (1, 2, 3, … per tenant, store and terminal: strictly increasing, never
   * reused, as durable as the log), or the number the cart was given before:
   * asking again for the same cart, even concurrently, allocates nothing.
   */
  assignNumber(cart: TerminalCart): Promise<number>;

  /**
   * Writes once per (tenant, store, cart id); a repeat (a retried Bill) writes
   * nothing and says so, whatever it carries: the first record stands.
   */
  record(rec: TransactionRecord): Promise<{ written: boolean }>;

  find(key: CartKey): Promise<TransactionRecord | undefined>;

  /** Records of one store, sales and cancels together. */
  count(tenantId: string, storeCode: string): Promise<number>;

  /** Resolves when the backing service answers (readiness); rejects like any other operation when it does not. */
  ping(): Promise<void>;

  /** Releases what the log owns; it is unusable afterwards. */
  close(): Promise<void>;
}

/** assignNumber() kept losing the race for its terminal's next number (service: `aborted`). */
export class TransactionNumberConflictError extends Error {
  override readonly name = "TransactionNumberConflictError";
  constructor(
    readonly cart: TerminalCart,
    readonly attempts: number,
  ) {
    super(
      `the next transaction number of terminal ${cart.terminalId} in store ${cart.storeCode} kept being taken concurrently: gave up after ${attempts} attempts`,
    );
  }
}
