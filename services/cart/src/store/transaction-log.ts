import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { CartKey } from "./cart-store.js";

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
