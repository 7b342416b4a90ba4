import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { type Item, ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import type { UpsertItemRequest, UpsertStorePriceRequest } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { ImportCounts, ItemStore, ListQuery } from "./item-store.js";

interface StoredItem {
  /** storeCode "", no storePrice/price: those are resolved per read. */
  item: Item;
  deleted: boolean;
}

interface TenantData {
  items: Map<string, StoredItem>;
  /** Every item code ever stored (deleted ones too), ascending: listing is a binary search plus a walk. */
  codes: string[];
  /** storeCode → itemCode → price. */
  storePrices: Map<string, Map<string, Money>>;
  liveCount: number;
}

/**
 * The embedded store: everything in process memory, gone on restart. Reads
 * and writes copy messages in and out, so no caller can alter stored state.
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

  function resolve(tenantId: string, storeCode: string, stored: Item): Item {
    const item = clone(ItemSchema, stored);
    item.storeCode = storeCode;
    const override =
      storeCode === "" ? undefined : tenants.get(tenantId)?.storePrices.get(storeCode)?.get(item.itemCode);
    if (override !== undefined) item.storePrice = clone(MoneySchema, override);
    const price = item.storePrice ?? item.unitPrice;
    if (price !== undefined) item.price = clone(MoneySchema, price);
    return item;
  }

  const store: ItemStore = {
    async getItems(tenantId, storeCode, itemCodes) {
      const found: Item[] = [];
      for (const code of new Set(itemCodes)) {
        const stored = liveItem(tenantId, code);
        if (stored !== undefined) found.push(resolve(tenantId, storeCode, stored.item));
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
        page.push(resolve(tenantId, storeCode, stored.item));
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
      const item = create(ItemSchema, {
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
      });
      if (existing === undefined) insertSorted(data.codes, input.itemCode);
      if (created) data.liveCount++;
      data.items.set(input.itemCode, { item, deleted: false });
      return { item: resolve(input.tenantId, "", item), created };
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
      ofStore.set(itemCode, clone(MoneySchema, price));
      return resolve(tenantId, storeCode, stored.item);
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
