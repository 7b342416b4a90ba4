import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import type { UpsertItemRequest, UpsertStorePriceRequest } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";

/**
 * What ItemService needs from storage, nothing more. Implementations:
 * memory-item-store.ts (embedded default) and mongo-item-store.ts; both run
 * item-store.contract.ts.
 *
 * Inputs arrive validated (see ../validation.ts); a store never sees an empty
 * tenant or code. Deleted items are invisible to every read. Prices come back
 * resolved for the given store: `storePrice` set when the store overrides the
 * price, `price` = storePrice ?? unitPrice.
 *
 * Items come out deep-frozen (@pos/common's freezeMessage): a store may hand the same object to
 * every reader until the item changes, so a read costs no copy, nobody can alter stored state
 * through a result, and encodings of a result may be cached (isFrozenMessage). A caller that
 * wants a changed item clones it. Inputs are copied in: changing one afterwards changes nothing.
 *
 * Failures of the backing service are thrown as StoreUnavailableError (or
 * StoreTimeoutError), never as a driver's own error, so that the edge maps
 * them without knowing the driver.
 */
export interface ItemStore {
  /** Items of the given codes that exist, in no particular order. */
  getItems(tenantId: string, storeCode: string, itemCodes: readonly string[]): Promise<Item[]>;

  /** Up to `limit` items in item_code order, strictly after `afterItemCode` when given. */
  listItems(tenantId: string, storeCode: string, query: ListQuery): Promise<Item[]>;

  /** Whether the tenant has ever had an item (deleted ones count). */
  hasTenant(tenantId: string): Promise<boolean>;

  /** Creates or replaces the common item; revives a deleted one. Prices unresolved (storeCode ""). */
  upsertItem(input: UpsertItemRequest): Promise<{ item: Item; created: boolean }>;

  /** Logical delete. False when there was no live item of that code. */
  deleteItem(tenantId: string, itemCode: string): Promise<boolean>;

  /** Sets a store's price; undefined when there is no live item of that code. */
  upsertStorePrice(tenantId: string, storeCode: string, itemCode: string, price: Money): Promise<Item | undefined>;

  /**
   * Loads many records at once (catalogue import, demo catalogue): items first,
   * then store prices. Same semantics as upsertItem/upsertStorePrice one by one;
   * a store price for an item not in the store (nor in `items`) is counted as
   * skipped, not written.
   */
  importRecords(
    items: readonly UpsertItemRequest[],
    storePrices: readonly UpsertStorePriceRequest[],
  ): Promise<ImportCounts>;

  /** Number of live items of a tenant. */
  countItems(tenantId: string): Promise<number>;

  /** Resolves when the backing service answers (readiness); rejects like any other operation when it does not. */
  ping(): Promise<void>;

  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export interface ImportCounts {
  items: number;
  storePrices: number;
  skippedStorePrices: number;
}

export interface ListQuery {
  categoryCode?: string;
  afterItemCode?: string;
  limit: number;
}

export { StoreTimeoutError, StoreUnavailableError } from "@pos/common";
