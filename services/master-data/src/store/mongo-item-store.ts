import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { connectMongo, freezeMessage, guarded as guardedAs, retryOnDuplicateKey } from "@pos/common";

// Every operation's failure names this store to clients ("item store unavailable"), never the driver's text.
const guarded = <T>(operation: () => Promise<T>): Promise<T> => guardedAs(operation, "item store");

import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { type Item, ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import type { UpsertItemRequest, UpsertStorePriceRequest } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { type AnyBulkWriteOperation, type Collection, type Db, Long } from "mongodb";
import type { ImportCounts, ItemStore, ListQuery } from "./item-store.js";

export const defaultDbName = "pos_master_data";

export interface MongoItemStoreOptions {
  /** Records per bulkWrite in importRecords. */
  importChunkSize?: number;
}

export interface ConnectMongoOptions extends MongoItemStoreOptions {
  /** Bound for connecting and for every operation (CSOT `timeoutMS`). */
  timeoutMs: number;
  /** Default: the URI's path, else "pos_master_data". */
  dbName?: string;
}

/** Money as stored: int64 amount (Long on the wire; the driver may hand back a number when it fits). */
interface MoneyDoc {
  amount: Long | number | bigint;
  currency_code: string;
}

/** The item fields an upsert replaces. */
interface ItemFields {
  description: string;
  description_short: string;
  category_code: string;
  tax_code: string;
  unit_price: MoneyDoc | null;
  barcode: string;
  is_discount_restricted: boolean;
  image_urls: string[];
}

/** A live item. A logical delete moves it to `deleted_items` (history), store prices stay. */
interface ItemDoc extends ItemFields {
  tenant_id: string;
  item_code: string;
  created_at: Date;
  updated_at: Date;
}

interface DeletedItemDoc extends ItemDoc {
  deleted_at: Date;
}

type ItemView = ItemFields & Pick<ItemDoc, "item_code" | "created_at" | "updated_at">;

interface StorePriceDoc {
  tenant_id: string;
  store_code: string;
  item_code: string;
  price: MoneyDoc;
  updated_at: Date;
}

const itemProjection = {
  _id: 0,
  item_code: 1,
  description: 1,
  description_short: 1,
  category_code: 1,
  tax_code: 1,
  unit_price: 1,
  barcode: 1,
  is_discount_restricted: 1,
  image_urls: 1,
  created_at: 1,
  updated_at: 1,
} as const;
const priceProjection = { _id: 0, item_code: 1, price: 1 } as const;
const codeProjection = { _id: 0, item_code: 1 } as const;

export const indexNames = {
  items: "tenant_id_item_code_unique",
  deletedItems: "tenant_id_item_code",
  itemsByCategory: "tenant_id_category_code_item_code",
  storePrices: "tenant_id_store_code_item_code_unique",
} as const;

/**
 * Connects to MongoDB and returns a store that owns the client: close() closes
 * it. Every operation, connecting included, is bounded by `timeoutMs`.
 */
export function connectMongoItemStore(uri: string, options: ConnectMongoOptions): Promise<ItemStore> {
  return connectMongo(uri, { ...options, appName: "pos-master-data", defaultDbName }, (db) =>
    createMongoItemStore(db, options),
  );
}

/**
 * A store on a Db whose client the caller owns (tests, bench): close() leaves
 * the client open. Creates the indexes first; doing so again is harmless.
 */
export async function createMongoItemStore(db: Db, options: MongoItemStoreOptions = {}): Promise<ItemStore> {
  const items = db.collection<ItemDoc>("items");
  const deletedItems = db.collection<DeletedItemDoc>("deleted_items");
  const prices = db.collection<StorePriceDoc>("store_prices");
  const chunkSize = options.importChunkSize ?? 1000;
  await guarded(() => ensureIndexes(items, deletedItems, prices));

  async function pricesOf(
    tenantId: string,
    storeCode: string,
    codes: readonly string[],
  ): Promise<Map<string, MoneyDoc>> {
    if (storeCode === "" || codes.length === 0) return new Map();
    const docs = await prices
      .find(
        { tenant_id: tenantId, store_code: storeCode, item_code: { $in: [...codes] } },
        { projection: priceProjection },
      )
      .toArray();
    return new Map(docs.map((d) => [d.item_code, d.price]));
  }

  async function liveCodes(tenantId: string, codes: readonly string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (const chunk of chunks(codes, chunkSize)) {
      const docs = await items
        .find({ tenant_id: tenantId, item_code: { $in: chunk } }, { projection: codeProjection })
        .toArray();
      for (const d of docs) live.add(d.item_code);
    }
    return live;
  }

  // Deleted items live in another collection, so the unique index on live items arbitrates every
  // race (FerretDB's findAndModify is not atomic under concurrency; inserts against a unique index are).
  async function upsertItem(input: UpsertItemRequest): Promise<{ item: Item; created: boolean }> {
    const now = new Date();
    // No projection on findOneAndUpdate: FerretDB 1.24 rejects findAndModify's "fields".
    const result = await retryOnDuplicateKey(() =>
      items.findOneAndUpdate(
        { tenant_id: input.tenantId, item_code: input.itemCode },
        { $set: { ...itemFields(input), updated_at: now }, $setOnInsert: { created_at: now } },
        { upsert: true, returnDocument: "after", includeResultMetadata: true },
      ),
    );
    if (result.value === null) throw new Error(`upsert of item "${input.itemCode}" returned no document`);
    const created = result.lastErrorObject?.updatedExisting !== true;
    return { item: toItem(input.tenantId, "", result.value, undefined), created };
  }

  /** Moves the live item to the history; false when there was none (or a concurrent delete won). */
  async function deleteItem(tenantId: string, itemCode: string): Promise<boolean> {
    const live = await items.findOne({ tenant_id: tenantId, item_code: itemCode });
    if (live === null) return false;
    const { _id: liveId, ...fields } = live;
    const history = await deletedItems.insertOne({ ...fields, deleted_at: new Date() });
    const removed = await items.deleteOne({ _id: liveId });
    if (removed.deletedCount === 1) return true;
    await deletedItems.deleteOne({ _id: history.insertedId });
    return false;
  }

  async function upsertStorePrice(
    tenantId: string,
    storeCode: string,
    itemCode: string,
    price: Money,
  ): Promise<Item | undefined> {
    const item = await items.findOne({ tenant_id: tenantId, item_code: itemCode }, { projection: itemProjection });
    if (item === null) return undefined;
    const doc = moneyDoc(price);
    await retryOnDuplicateKey(() =>
      prices.updateOne(
        { tenant_id: tenantId, store_code: storeCode, item_code: itemCode },
        { $set: { price: doc, updated_at: new Date() } },
        { upsert: true },
      ),
    );
    return toItem(tenantId, storeCode, item, doc);
  }

  async function importItems(inputs: readonly UpsertItemRequest[]): Promise<void> {
    const now = new Date();
    for (const [tenantId, byCode] of groupByTenant(inputs, (r) => r.itemCode)) {
      for (const chunk of chunks([...byCode.values()], chunkSize)) {
        const ops: AnyBulkWriteOperation<ItemDoc>[] = chunk.map((r) => ({
          updateOne: {
            filter: { tenant_id: tenantId, item_code: r.itemCode },
            update: { $set: { ...itemFields(r), updated_at: now }, $setOnInsert: { created_at: now } },
            upsert: true,
          },
        }));
        await retryOnDuplicateKey(() => items.bulkWrite(ops, { ordered: false }));
      }
    }
  }

  async function importStorePrices(
    inputs: readonly UpsertStorePriceRequest[],
  ): Promise<{ written: number; skipped: number }> {
    const now = new Date();
    let written = 0;
    let skipped = 0;
    for (const [tenantId, byKey] of groupByTenant(inputs, (r) => `${r.storeCode}\u0000${r.itemCode}`)) {
      const live = await liveCodes(tenantId, [...new Set([...byKey.values()].map((r) => r.itemCode))]);
      const accepted: UpsertStorePriceRequest[] = [];
      for (const r of byKey.values()) {
        if (live.has(r.itemCode) && r.price !== undefined) accepted.push(r);
      }
      for (const chunk of chunks(accepted, chunkSize)) {
        const ops: AnyBulkWriteOperation<StorePriceDoc>[] = chunk.map((r) => ({
          updateOne: {
            filter: { tenant_id: tenantId, store_code: r.storeCode, item_code: r.itemCode },
            update: { $set: { price: moneyDoc(r.price as Money), updated_at: now } },
            upsert: true,
          },
        }));
        await retryOnDuplicateKey(() => prices.bulkWrite(ops, { ordered: false }));
      }
      // Counted per input record, like one upsertStorePrice call each.
      for (const r of inputs) {
        if (r.tenantId !== tenantId) continue;
        if (live.has(r.itemCode) && r.price !== undefined) written++;
        else skipped++;
      }
    }
    return { written, skipped };
  }

  return {
    getItems: (tenantId, storeCode, itemCodes) =>
      guarded(async () => {
        const codes = [...new Set(itemCodes)];
        if (codes.length === 0) return [];
        const [docs, overrides] = await Promise.all([
          items.find({ tenant_id: tenantId, item_code: { $in: codes } }, { projection: itemProjection }).toArray(),
          pricesOf(tenantId, storeCode, codes),
        ]);
        return docs.map((d) => toItem(tenantId, storeCode, d, overrides.get(d.item_code)));
      }),

    listItems: (tenantId, storeCode, query: ListQuery) =>
      guarded(async () => {
        if (query.limit <= 0) return [];
        const filter = {
          tenant_id: tenantId,
          ...(query.categoryCode !== undefined && { category_code: query.categoryCode }),
          ...(query.afterItemCode !== undefined && { item_code: { $gt: query.afterItemCode } }),
        };
        const docs = await items
          .find(filter, { projection: itemProjection })
          .sort({ item_code: 1 })
          .limit(query.limit)
          .toArray();
        // Sequential, not concurrent: only the page's codes say which store prices to fetch.
        const overrides = await pricesOf(
          tenantId,
          storeCode,
          docs.map((d) => d.item_code),
        );
        return docs.map((d) => toItem(tenantId, storeCode, d, overrides.get(d.item_code)));
      }),

    hasTenant: (tenantId) =>
      guarded(async () => {
        const probe = { projection: { _id: 1 } } as const;
        if ((await items.findOne({ tenant_id: tenantId }, probe)) !== null) return true;
        return (await deletedItems.findOne({ tenant_id: tenantId }, probe)) !== null;
      }),

    upsertItem: (input) => guarded(() => upsertItem(input)),

    deleteItem: (tenantId, itemCode) => guarded(() => deleteItem(tenantId, itemCode)),

    upsertStorePrice: (tenantId, storeCode, itemCode, price) =>
      guarded(() => upsertStorePrice(tenantId, storeCode, itemCode, price)),

    importRecords: (itemInputs, storePriceInputs) =>
      guarded(async (): Promise<ImportCounts> => {
        await importItems(itemInputs);
        const { written, skipped } = await importStorePrices(storePriceInputs);
        return { items: itemInputs.length, storePrices: written, skippedStorePrices: skipped };
      }),

    countItems: (tenantId) => guarded(() => items.countDocuments({ tenant_id: tenantId })),

    // The caller owns the client (see connectMongoItemStore for a store that owns one).
    ping: () => guarded(async () => void (await db.command({ ping: 1 }))),

    close: async () => undefined,
  };
}

// One index per command: FerretDB 1.24 drops the connection (a server-side panic) when a
// createIndexes naming several indexes meets indexes that already exist.
async function ensureIndexes(
  items: Collection<ItemDoc>,
  deletedItems: Collection<DeletedItemDoc>,
  prices: Collection<StorePriceDoc>,
): Promise<void> {
  await items.createIndex({ tenant_id: 1, item_code: 1 }, { name: indexNames.items, unique: true });
  await deletedItems.createIndex({ tenant_id: 1, item_code: 1 }, { name: indexNames.deletedItems });
  await items.createIndex({ tenant_id: 1, category_code: 1, item_code: 1 }, { name: indexNames.itemsByCategory });
  await prices.createIndex(
    { tenant_id: 1, store_code: 1, item_code: 1 },
    { name: indexNames.storePrices, unique: true },
  );
}

function itemFields(input: UpsertItemRequest): ItemFields {
  return {
    description: input.description,
    description_short: input.descriptionShort,
    category_code: input.categoryCode,
    tax_code: input.taxCode,
    unit_price: input.unitPrice === undefined ? null : moneyDoc(input.unitPrice),
    barcode: input.barcode,
    is_discount_restricted: input.isDiscountRestricted,
    image_urls: [...input.imageUrls],
  };
}

function toItem(tenantId: string, storeCode: string, doc: ItemView, storePrice: MoneyDoc | undefined): Item {
  const unitPriceDoc = doc.unit_price ?? undefined;
  const priceDoc = storePrice ?? unitPriceDoc;
  // Frozen like the memory store's items (see item-store.ts), although each read decodes its own.
  const item = create(ItemSchema, {
    tenantId,
    storeCode,
    itemCode: doc.item_code,
    description: doc.description,
    descriptionShort: doc.description_short,
    categoryCode: doc.category_code,
    taxCode: doc.tax_code,
    unitPrice: unitPriceDoc && toMoney(unitPriceDoc),
    storePrice: storePrice && toMoney(storePrice),
    price: priceDoc && toMoney(priceDoc),
    barcode: doc.barcode,
    isDiscountRestricted: doc.is_discount_restricted,
    imageUrls: doc.image_urls ?? [],
    createdAt: timestampFromDate(doc.created_at),
    updatedAt: timestampFromDate(doc.updated_at),
  });
  return freezeMessage(item);
}

function moneyDoc(money: Money): MoneyDoc {
  return { amount: Long.fromBigInt(money.amount), currency_code: money.currencyCode };
}

function toMoney(doc: MoneyDoc): Money {
  const a = doc.amount;
  const amount = typeof a === "bigint" ? a : typeof a === "number" ? BigInt(a) : a.toBigInt();
  return create(MoneySchema, { amount, currencyCode: doc.currency_code });
}

function groupByTenant<T extends { tenantId: string }>(
  records: readonly T[],
  key: (r: T) => string,
): Map<string, Map<string, T>> {
  // Last record of a key wins, as if applied one by one.
  const groups = new Map<string, Map<string, T>>();
  for (const r of records) {
    let group = groups.get(r.tenantId);
    if (group === undefined) {
      group = new Map();
      groups.set(r.tenantId, group);
    }
    group.delete(key(r));
    group.set(key(r), r);
  }
  return groups;
}

function chunks<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}
