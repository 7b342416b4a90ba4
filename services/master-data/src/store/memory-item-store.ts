import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { freezeMessage } from "@pos/common";
import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { type Item, ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import type { UpsertItemRequest, UpsertStorePriceRequest } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { ImportCounts, ItemStore, ListQuery } from "./item-store.js";

interface StoredItem {
  /** storeCode "", no storePrice/price: those are resolved per store. Frozen. */
  item: Item;
  deleted: boolean;
  /**
   * The item as each store sells it (storeCode, storePrice, price resolved), frozen, made on the
   * first read for that store. A write to the item replaces the whole StoredItem; a store price
   * write drops that store's entry. At most `resolvedPerItem` stores per item (first in, first out).
   */
  resolved: Map<string, Item>;
}

// Terminals of one shop read the same store's prices; a few stores per item cover a busy day.
const resolvedPerItem = 16;

interface TenantData {
  items: Map<string, StoredItem>;
  /** Every item code ever stored (deleted ones too), ascending: listing is a binary search plus a walk. */
  codes: string[];
  /** storeCode → itemCode → price (frozen). */
  storePrices: Map<string, Map<string, Money>>;
  liveCount: number;
}

/**
 * The embedded store: everything in process memory, gone on restart. Inputs are copied in; items
 * come out deep-frozen (see item-store.ts) and shared between reads, so a read costs no copy and
 * no caller can alter stored state.
 */
export function createMemoryItemStore(): ItemStore {
  const tenants = new Map<string, TenantData>();

  function tenant(tenantId: string): TenantData {
    let data = tenants.get(tenantId);
    if (data === undefined) {
      data = { items: new Map(), codes: [], storePrices: new Map(), liveCount: 0 };
      tenants.set(tenantId, data);
    }
    return data;
  }

  function liveItem(tenantId: string, itemCode: string): StoredItem | undefined {
    const stored = tenants.get(tenantId)?.items.get(itemCode);
    return stored === undefined || stored.deleted ? undefined : stored;
  }

  function resolve(tenantId: string, storeCode: string, stored: StoredItem): Item {
    const cached = stored.resolved.get(storeCode);
    if (cached !== undefined) return cached;
    const base = stored.item;
    const override =
      storeCode === "" ? undefined : tenants.get(tenantId)?.storePrices.get(storeCode)?.get(base.itemCode);
    // Frozen parts (prices, timestamps, image list) are shared, not copied.
    const item = freezeMessage(
      create(ItemSchema, {
        tenantId: base.tenantId,
        storeCode,
        itemCode: base.itemCode,
        description: base.description,
        descriptionShort: base.descriptionShort,
        categoryCode: base.categoryCode,
        taxCode: base.taxCode,
        unitPrice: base.unitPrice,
        storePrice: override,
        price: override ?? base.unitPrice,
        barcode: base.barcode,
        isDiscountRestricted: base.isDiscountRestricted,
        imageUrls: base.imageUrls,
        createdAt: base.createdAt,
        updatedAt: base.updatedAt,
      }),
    );
    if (stored.resolved.size >= resolvedPerItem) {
      const oldest = stored.resolved.keys().next();
      if (oldest.done !== true) stored.resolved.delete(oldest.value);
    }
    stored.resolved.set(storeCode, item);
    return item;
  }

  const store: ItemStore = {
    async getItems(tenantId, storeCode, itemCodes) {
      const found: Item[] = [];
      for (const code of new Set(itemCodes)) {
        const stored = liveItem(tenantId, code);
        if (stored !== undefined) found.push(resolve(tenantId, storeCode, stored));
      }
      return found;
    },

    async listItems(tenantId, storeCode, query: ListQuery) {
      const data = tenants.get(tenantId);
      if (data === undefined || query.limit <= 0) return [];
      const start = query.afterItemCode === undefined ? 0 : firstIndexAfter(data.codes, query.afterItemCode);
      const page: Item[] = [];
      for (let i = start; i < data.codes.length && page.length < query.limit; i++) {
        const stored = data.items.get(data.codes[i] as string);
        if (stored === undefined || stored.deleted) continue;
        if (query.categoryCode !== undefined && stored.item.categoryCode !== query.categoryCode) continue;
        page.push(resolve(tenantId, storeCode, stored));
      }
      return page;
    },

    async hasTenant(tenantId) {
      return (tenants.get(tenantId)?.items.size ?? 0) > 0;
    },

    async upsertItem(input) {
      const data = tenant(input.tenantId);
      const now = timestampFromDate(new Date());
      const existing = data.items.get(input.itemCode);
      // Reviving a deleted item starts a new life: created again, createdAt = now.
      const created = existing === undefined || existing.deleted;
      const item = freezeMessage(
        create(ItemSchema, {
          tenantId: input.tenantId,
          storeCode: "",
          itemCode: input.itemCode,
          description: input.description,
          descriptionShort: input.descriptionShort,
          categoryCode: input.categoryCode,
          taxCode: input.taxCode,
          unitPrice: input.unitPrice === undefined ? undefined : clone(MoneySchema, input.unitPrice),
          barcode: input.barcode,
          isDiscountRestricted: input.isDiscountRestricted,
          imageUrls: [...input.imageUrls],
          createdAt: created || existing === undefined ? now : existing.item.createdAt,
          updatedAt: now,
        }),
      );
      if (existing === undefined) insertSorted(data.codes, input.itemCode);
      if (created) data.liveCount++;
      const stored: StoredItem = { item, deleted: false, resolved: new Map() };
      data.items.set(input.itemCode, stored);
      return { item: resolve(input.tenantId, "", stored), created };
    },

    async deleteItem(tenantId, itemCode) {
      const stored = liveItem(tenantId, itemCode);
      if (stored === undefined) return false;
      stored.deleted = true;
      tenant(tenantId).liveCount--;
      return true;
    },

    async upsertStorePrice(tenantId, storeCode, itemCode, price) {
      const stored = liveItem(tenantId, itemCode);
      if (stored === undefined) return undefined;
      const prices = tenant(tenantId).storePrices;
      let ofStore = prices.get(storeCode);
      if (ofStore === undefined) {
        ofStore = new Map();
        prices.set(storeCode, ofStore);
      }
      ofStore.set(itemCode, freezeMessage(clone(MoneySchema, price)));
      stored.resolved.delete(storeCode);
      return resolve(tenantId, storeCode, stored);
    },

    async importRecords(items: readonly UpsertItemRequest[], storePrices: readonly UpsertStorePriceRequest[]) {
      const counts: ImportCounts = { items: 0, storePrices: 0, skippedStorePrices: 0 };
      for (const input of items) {
        await store.upsertItem(input);
        counts.items++;
      }
      for (const sp of storePrices) {
        const written =
          sp.price !== undefined && (await store.upsertStorePrice(sp.tenantId, sp.storeCode, sp.itemCode, sp.price));
        if (written) counts.storePrices++;
        else counts.skippedStorePrices++;
      }
      return counts;
    },

    async countItems(tenantId) {
      return tenants.get(tenantId)?.liveCount ?? 0;
    },

    async ping() {},

    async close() {
      tenants.clear();
    },
  };
  return store;
}

/** Index of the first code greater than `code` (codes ascending). */
function firstIndexAfter(codes: readonly string[], code: string): number {
  let lo = 0;
  let hi = codes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((codes[mid] as string) <= code) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(codes: string[], code: string): void {
  codes.splice(firstIndexAfter(codes, code), 0, code);
}
