import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { isFrozenMessage } from "@pos/common";
import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import {
  type UpsertItemRequest,
  UpsertItemRequestSchema,
  type UpsertStorePriceRequest,
  UpsertStorePriceRequestSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ItemStore } from "./item-store.js";

/** Above 2^53: a store that passes amounts through a JS number loses the last digit. */
const bigAmount = 9007199254740993n;

let tenantSeq = 0;
const runId = Math.random().toString(36).slice(2, 8);
/** A tenant of its own per test, so tests share a store without seeing each other's items. */
function freshTenant(): string {
  return `t${++tenantSeq}_${runId}`;
}

function yen(amount: bigint): Money {
  return create(MoneySchema, { amount, currencyCode: "JPY" });
}

function itemInput(tenantId: string, itemCode: string, overrides: Partial<UpsertItemRequest> = {}): UpsertItemRequest {
  return create(UpsertItemRequestSchema, {
    tenantId,
    itemCode,
    description: `Item ${itemCode}`,
    descriptionShort: itemCode,
    categoryCode: "FOOD",
    taxCode: "STANDARD",
    unitPrice: yen(100n),
    barcode: "",
    isDiscountRestricted: false,
    imageUrls: [],
    ...overrides,
  });
}

function storePriceInput(
  tenantId: string,
  storeCode: string,
  itemCode: string,
  amount: bigint,
): UpsertStorePriceRequest {
  return create(UpsertStorePriceRequestSchema, { tenantId, storeCode, itemCode, price: yen(amount) });
}

function ms(item: Item, field: "createdAt" | "updatedAt"): number {
  const ts = item[field];
  if (ts === undefined) throw new Error(`${field} is missing on ${item.itemCode}`);
  return timestampMs(ts);
}

function codes(items: readonly Item[]): string[] {
  return items.map((i) => i.itemCode).sort();
}

function code(n: number): string {
  return `C${String(n).padStart(5, "0")}`;
}

/** ONE suite that every ItemStore implementation must pass. */
export function runItemStoreContract(label: string, open: () => Promise<ItemStore>): void {
  describe(`ItemStore contract: ${label}`, () => {
    let store: ItemStore;

    beforeAll(async () => {
      store = await open();
    });

    afterAll(async () => {
      await store?.close();
    });

    async function getOne(tenantId: string, storeCode: string, itemCode: string): Promise<Item | undefined> {
      const found = await store.getItems(tenantId, storeCode, [itemCode]);
      expect(found.length).toBeLessThanOrEqual(1);
      return found[0];
    }

    it("answers ping while its backing service is up (readiness)", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe("upsertItem and getItems", () => {
      it("round-trips every field, an int64 amount above 2^53 exactly", async () => {
        const t = freshTenant();
        const input = itemInput(t, "4901234567894", {
          description: "Green tea 500ml ペットボトル",
          descriptionShort: "Green tea",
          categoryCode: "DRINK",
          taxCode: "REDUCED",
          unitPrice: create(MoneySchema, { amount: bigAmount, currencyCode: "USD" }),
          barcode: "4901234567894",
          isDiscountRestricted: true,
          imageUrls: ["https://img.example/a.png", "https://img.example/b.png"],
        });
        const before = Date.now();
        const { item, created } = await store.upsertItem(input);
        expect(created).toBe(true);
        expect(item.storeCode).toBe("");

        const got = await getOne(t, "S001", "4901234567894");
        expect(got).toBeDefined();
        for (const it of [item, got as Item]) {
          expect(it.tenantId).toBe(t);
          expect(it.itemCode).toBe("4901234567894");
          expect(it.description).toBe("Green tea 500ml ペットボトル");
          expect(it.descriptionShort).toBe("Green tea");
          expect(it.categoryCode).toBe("DRINK");
          expect(it.taxCode).toBe("REDUCED");
          expect(it.barcode).toBe("4901234567894");
          expect(it.isDiscountRestricted).toBe(true);
          expect(it.imageUrls).toEqual(["https://img.example/a.png", "https://img.example/b.png"]);
          expect(it.unitPrice?.amount).toBe(bigAmount);
          expect(it.unitPrice?.currencyCode).toBe("USD");
          expect(it.storePrice).toBeUndefined();
          expect(it.price?.amount).toBe(bigAmount);
          expect(it.price?.currencyCode).toBe("USD");
          // Stores keep milliseconds (BSON dates): allow for the truncation.
          expect(ms(it, "createdAt")).toBeGreaterThanOrEqual(before - 1);
          expect(ms(it, "createdAt")).toBeLessThanOrEqual(Date.now());
          expect(ms(it, "updatedAt")).toBe(ms(it, "createdAt"));
        }
        expect(got?.storeCode).toBe("S001");
        expect(ms(got as Item, "createdAt")).toBe(ms(item, "createdAt"));
      });

      it("replaces an existing item: created false, createdAt kept, updatedAt moves on", async () => {
        const t = freshTenant();
        const first = await store.upsertItem(
          itemInput(t, "A1", { imageUrls: ["https://img.example/old.png"], barcode: "111" }),
        );
        const second = await store.upsertItem(itemInput(t, "A1", { description: "Renamed", unitPrice: yen(250n) }));
        expect(second.created).toBe(false);
        expect(ms(second.item, "createdAt")).toBe(ms(first.item, "createdAt"));
        expect(ms(second.item, "updatedAt")).toBeGreaterThanOrEqual(ms(first.item, "updatedAt"));

        const got = await getOne(t, "S001", "A1");
        expect(got?.description).toBe("Renamed");
        expect(got?.imageUrls).toEqual([]);
        expect(got?.barcode).toBe("");
        expect(got?.unitPrice?.amount).toBe(250n);
        expect(got?.price?.amount).toBe(250n);
        expect(ms(got as Item, "createdAt")).toBe(ms(first.item, "createdAt"));
        expect(await store.countItems(t)).toBe(1);
      });

      it("omits missing codes, answers duplicates once, and [] for no codes", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "A1"));
        await store.upsertItem(itemInput(t, "A2"));
        expect(codes(await store.getItems(t, "S001", ["A1", "NOPE", "A2", "A1"]))).toEqual(["A1", "A2"]);
        expect(await store.getItems(t, "S001", ["NOPE"])).toEqual([]);
        expect(await store.getItems(t, "S001", [])).toEqual([]);
        // Same code, other tenant: invisible.
        expect(await store.getItems(freshTenant(), "S001", ["A1"])).toEqual([]);
      });

      it("answers a batch of 500 codes out of 2,500 items", async () => {
        const t = freshTenant();
        const all = Array.from({ length: 2500 }, (_, i) => itemInput(t, code(i), { unitPrice: yen(BigInt(i)) }));
        const counts = await store.importRecords(all, []);
        expect(counts).toEqual({ items: 2500, storePrices: 0, skippedStorePrices: 0 });
        const wanted = Array.from({ length: 500 }, (_, i) => code(i * 5));
        const got = await store.getItems(t, "S001", [...wanted, "MISSING1", "MISSING2"]);
        expect(codes(got)).toEqual(wanted);
        for (const item of got) expect(item.price?.amount).toBe(BigInt(Number(item.itemCode.slice(1))));
        expect(await store.countItems(t)).toBe(2500);
        // 2,500 inserts into FerretDB take well over the default 20 s when the shared machine is loaded.
      }, 90_000);

      it("hands out frozen items: a result cannot be changed, and changing an input changes nothing", async () => {
        const t = freshTenant();
        const input = itemInput(t, "A1", { imageUrls: ["https://img.example/a.png"] });
        const { item } = await store.upsertItem(input);
        input.description = "changed input";
        input.imageUrls.push("https://img.example/input.png");
        if (input.unitPrice) input.unitPrice.amount = 1n;
        expectFrozen(item);
        const price = yen(90n);
        const priced = await store.upsertStorePrice(t, "S001", "A1", price);
        price.amount = 3n;
        if (priced === undefined) throw new Error("no item");
        expectFrozen(priced);

        const [got] = await store.getItems(t, "S001", ["A1"]);
        expect(got?.description).toBe("Item A1");
        expect(got?.imageUrls).toEqual(["https://img.example/a.png"]);
        expect(got?.unitPrice?.amount).toBe(100n);
        expect(got?.storePrice?.amount).toBe(90n);
        if (got === undefined) throw new Error("no item");
        expectFrozen(got);
        const [again] = await store.listItems(t, "S001", { limit: 10 });
        expect(again?.price?.amount).toBe(90n);
        expect(again?.unitPrice?.amount).toBe(100n);
        if (again === undefined) throw new Error("no item");
        expectFrozen(again);
      });

      it("a shared result never shows a later write: each write hands out a new item", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "A1", { unitPrice: yen(100n) }));
        const [before] = await store.getItems(t, "S001", ["A1"]);
        await store.upsertStorePrice(t, "S001", "A1", yen(80n));
        const [priced] = await store.getItems(t, "S001", ["A1"]);
        await store.upsertItem(itemInput(t, "A1", { unitPrice: yen(120n), description: "renamed" }));
        const [renamed] = await store.getItems(t, "S001", ["A1"]);
        const [elsewhere] = await store.getItems(t, "S002", ["A1"]);
        expect(before?.price?.amount).toBe(100n);
        expect(priced?.price?.amount).toBe(80n);
        expect(renamed?.description).toBe("renamed");
        expect(renamed?.storePrice?.amount).toBe(80n);
        expect(elsewhere?.price?.amount).toBe(120n);
        expect(elsewhere?.storeCode).toBe("S002");
        await store.deleteItem(t, "A1");
        expect(await store.getItems(t, "S001", ["A1"])).toEqual([]);
        expect(before?.price?.amount).toBe(100n);
      });
    });

    describe("store prices", () => {
      it("overrides the price for that store only; unitPrice stays", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "A1", { unitPrice: yen(100n) }));
        const priced = await store.upsertStorePrice(t, "S001", "A1", yen(bigAmount));
        expect(priced?.storeCode).toBe("S001");
        expect(priced?.storePrice?.amount).toBe(bigAmount);
        expect(priced?.price?.amount).toBe(bigAmount);
        expect(priced?.unitPrice?.amount).toBe(100n);

        const here = await getOne(t, "S001", "A1");
        expect(here?.storePrice?.amount).toBe(bigAmount);
        expect(here?.price?.amount).toBe(bigAmount);
        expect(here?.unitPrice?.amount).toBe(100n);

        const elsewhere = await getOne(t, "S002", "A1");
        expect(elsewhere?.storeCode).toBe("S002");
        expect(elsewhere?.storePrice).toBeUndefined();
        expect(elsewhere?.price?.amount).toBe(100n);
      });

      it("replaces an override, and keeps it when the item itself is replaced", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "A1"));
        await store.upsertStorePrice(t, "S001", "A1", yen(90n));
        await store.upsertStorePrice(t, "S001", "A1", yen(80n));
        const { item } = await store.upsertItem(itemInput(t, "A1", { unitPrice: yen(120n) }));
        expect(item.storePrice).toBeUndefined();
        expect(item.price?.amount).toBe(120n);
        const got = await getOne(t, "S001", "A1");
        expect(got?.storePrice?.amount).toBe(80n);
        expect(got?.unitPrice?.amount).toBe(120n);
        expect(got?.price?.amount).toBe(80n);
      });

      it("returns undefined and writes nothing for an item that does not exist", async () => {
        const t = freshTenant();
        expect(await store.upsertStorePrice(t, "S001", "GHOST", yen(90n))).toBeUndefined();
        await store.upsertItem(itemInput(t, "GHOST"));
        expect((await getOne(t, "S001", "GHOST"))?.storePrice).toBeUndefined();
      });

      it("survives concurrent writes of one new override", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "A1"));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.upsertStorePrice(t, "S001", "A1", yen(BigInt(200 + i)))),
        );
        expect(results.every((r) => r?.storePrice !== undefined)).toBe(true);
        const got = await getOne(t, "S001", "A1");
        expect(results.map((r) => r?.storePrice?.amount)).toContain(got?.storePrice?.amount);
      });
    });

    describe("listItems", () => {
      async function seed(t: string): Promise<void> {
        // Inserted out of order on purpose.
        for (const [c, category] of [
          ["B2", "DRINK"],
          ["A1", "FOOD"],
          ["C3", "FOOD"],
          ["A2", "DRINK"],
          ["B1", "FOOD"],
        ] as const) {
          await store.upsertItem(itemInput(t, c, { categoryCode: category }));
        }
      }

      it("lists in item_code order, resolved for the store", async () => {
        const t = freshTenant();
        await seed(t);
        await store.upsertStorePrice(t, "S001", "B1", yen(55n));
        const page = await store.listItems(t, "S001", { limit: 100 });
        expect(page.map((i) => i.itemCode)).toEqual(["A1", "A2", "B1", "B2", "C3"]);
        expect(page.every((i) => i.storeCode === "S001" && i.tenantId === t)).toBe(true);
        expect(page.find((i) => i.itemCode === "B1")?.price?.amount).toBe(55n);
        expect(page.find((i) => i.itemCode === "A1")?.price?.amount).toBe(100n);
        expect(await store.listItems(freshTenant(), "S001", { limit: 100 })).toEqual([]);
      });

      it("pages strictly after afterItemCode, at most limit per page", async () => {
        const t = freshTenant();
        await seed(t);
        expect((await store.listItems(t, "S001", { limit: 2 })).map((i) => i.itemCode)).toEqual(["A1", "A2"]);
        expect((await store.listItems(t, "S001", { limit: 2, afterItemCode: "A2" })).map((i) => i.itemCode)).toEqual([
          "B1",
          "B2",
        ]);
        // A cursor need not be an existing code.
        expect((await store.listItems(t, "S001", { limit: 10, afterItemCode: "B" })).map((i) => i.itemCode)).toEqual([
          "B1",
          "B2",
          "C3",
        ]);
        expect(await store.listItems(t, "S001", { limit: 10, afterItemCode: "C3" })).toEqual([]);
      });

      it("walks 1,200 items page by page, each exactly once", async () => {
        const t = freshTenant();
        const order = Array.from({ length: 1200 }, (_, i) => i).sort(
          (a, b) => ((a * 7919) % 1201) - ((b * 7919) % 1201),
        );
        await store.importRecords(
          order.map((i) => itemInput(t, code(i))),
          [],
        );
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listItems(t, "S001", {
            limit: 250,
            ...(after !== undefined && { afterItemCode: after }),
          });
          expect(page.length).toBeLessThanOrEqual(250);
          if (page.length === 0) break;
          seen.push(...page.map((i) => i.itemCode));
          after = page[page.length - 1]?.itemCode;
        }
        expect(seen).toEqual(Array.from({ length: 1200 }, (_, i) => code(i)));
      }, 90_000);

      it("filters by category, with paging", async () => {
        const t = freshTenant();
        await seed(t);
        const food = await store.listItems(t, "S001", { limit: 100, categoryCode: "FOOD" });
        expect(food.map((i) => i.itemCode)).toEqual(["A1", "B1", "C3"]);
        const next = await store.listItems(t, "S001", { limit: 1, categoryCode: "DRINK", afterItemCode: "A2" });
        expect(next.map((i) => i.itemCode)).toEqual(["B2"]);
        expect(await store.listItems(t, "S001", { limit: 100, categoryCode: "NONE" })).toEqual([]);
      });
    });

    describe("logical delete", () => {
      it("hides the item from every read but the tenant still exists", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "A1"));
        await store.upsertItem(itemInput(t, "A2"));
        await store.upsertStorePrice(t, "S001", "A1", yen(90n));

        expect(await store.deleteItem(t, "A1")).toBe(true);
        expect(await store.deleteItem(t, "A1")).toBe(false);
        expect(await store.deleteItem(t, "NEVER")).toBe(false);

        expect(await store.getItems(t, "S001", ["A1"])).toEqual([]);
        expect((await store.listItems(t, "S001", { limit: 10 })).map((i) => i.itemCode)).toEqual(["A2"]);
        expect(await store.countItems(t)).toBe(1);
        expect(await store.upsertStorePrice(t, "S001", "A1", yen(70n))).toBeUndefined();

        expect(await store.deleteItem(t, "A2")).toBe(true);
        expect(await store.countItems(t)).toBe(0);
        expect(await store.hasTenant(t)).toBe(true);
      });

      it("revives on upsert: created again with a fresh createdAt; the old store price returns", async () => {
        const t = freshTenant();
        const first = await store.upsertItem(itemInput(t, "A1"));
        await store.upsertStorePrice(t, "S001", "A1", yen(90n));
        await store.deleteItem(t, "A1");

        const revived = await store.upsertItem(itemInput(t, "A1", { description: "Back again" }));
        expect(revived.created).toBe(true);
        expect(ms(revived.item, "createdAt")).toBeGreaterThanOrEqual(ms(first.item, "createdAt"));
        expect(ms(revived.item, "updatedAt")).toBe(ms(revived.item, "createdAt"));
        expect(revived.item.description).toBe("Back again");

        const got = await getOne(t, "S001", "A1");
        expect(got?.description).toBe("Back again");
        // The override written before the delete (not the rejected one after it).
        expect(got?.storePrice?.amount).toBe(90n);
        expect(await store.countItems(t)).toBe(1);
        expect((await store.upsertItem(itemInput(t, "A1"))).created).toBe(false);
      });
    });

    describe("hasTenant and countItems", () => {
      it("knows tenants that ever had an item, and counts live items per tenant", async () => {
        const t = freshTenant();
        const other = freshTenant();
        expect(await store.hasTenant(t)).toBe(false);
        expect(await store.countItems(t)).toBe(0);
        await store.upsertItem(itemInput(t, "A1"));
        await store.upsertItem(itemInput(t, "A2"));
        await store.upsertItem(itemInput(t, "A1"));
        await store.upsertItem(itemInput(other, "A1"));
        expect(await store.hasTenant(t)).toBe(true);
        expect(await store.countItems(t)).toBe(2);
        expect(await store.countItems(other)).toBe(1);
      });
    });

    describe("importRecords", () => {
      it("writes items then store prices, skipping prices of items that are not live", async () => {
        const t = freshTenant();
        const existing = await store.upsertItem(itemInput(t, "OLD", { description: "old" }));
        await store.upsertItem(itemInput(t, "GONE"));
        await store.upsertItem(itemInput(t, "DEAD"));
        await store.upsertStorePrice(t, "S001", "GONE", yen(1n));
        await store.deleteItem(t, "GONE");
        await store.deleteItem(t, "DEAD");

        const counts = await store.importRecords(
          [
            itemInput(t, "N1", { unitPrice: yen(bigAmount) }),
            itemInput(t, "N2"),
            itemInput(t, "OLD", { description: "imported" }),
            itemInput(t, "GONE", { description: "revived" }),
          ],
          [
            storePriceInput(t, "S001", "N1", 10n),
            storePriceInput(t, "S002", "N1", 20n),
            storePriceInput(t, "S001", "OLD", 30n),
            storePriceInput(t, "S001", "NOPE", 40n),
            storePriceInput(t, "S001", "DEAD", 50n),
            storePriceInput(freshTenant(), "S001", "N1", 60n),
          ],
        );
        expect(counts).toEqual({ items: 4, storePrices: 3, skippedStorePrices: 3 });
        expect(await store.countItems(t)).toBe(4);

        const s1 = new Map(
          (await store.getItems(t, "S001", ["N1", "N2", "OLD", "GONE", "DEAD", "NOPE"])).map((i) => [i.itemCode, i]),
        );
        expect([...s1.keys()].sort()).toEqual(["GONE", "N1", "N2", "OLD"]);
        expect(s1.get("N1")?.unitPrice?.amount).toBe(bigAmount);
        expect(s1.get("N1")?.price?.amount).toBe(10n);
        expect(s1.get("N2")?.storePrice).toBeUndefined();
        expect(s1.get("OLD")?.description).toBe("imported");
        expect(s1.get("OLD")?.price?.amount).toBe(30n);
        expect(ms(s1.get("OLD") as Item, "createdAt")).toBe(ms(existing.item, "createdAt"));
        expect(s1.get("GONE")?.description).toBe("revived");
        expect(s1.get("GONE")?.storePrice?.amount).toBe(1n);
        expect(ms(s1.get("GONE") as Item, "createdAt")).toBeGreaterThanOrEqual(ms(existing.item, "createdAt"));
        expect((await getOne(t, "S002", "N1"))?.price?.amount).toBe(20n);

        expect(await store.upsertItem(itemInput(t, "DEAD")).then((r) => r.created)).toBe(true);
        expect((await getOne(t, "S001", "DEAD"))?.storePrice).toBeUndefined();
      });

      it("is idempotent: importing the same records twice leaves one of each", async () => {
        const t = freshTenant();
        const items = [itemInput(t, "A1"), itemInput(t, "A2")];
        const prices = [storePriceInput(t, "S001", "A1", 90n)];
        await store.importRecords(items, prices);
        expect(await store.importRecords(items, prices)).toEqual({ items: 2, storePrices: 1, skippedStorePrices: 0 });
        expect(await store.countItems(t)).toBe(2);
        expect((await getOne(t, "S001", "A1"))?.price?.amount).toBe(90n);
      });
    });

    describe("concurrency", () => {
      it("20 concurrent upserts of one new code: exactly one creates it, one item results", async () => {
        const t = freshTenant();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.upsertItem(itemInput(t, "RACE", { description: `writer ${i}` }))),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(await store.countItems(t)).toBe(1);
        const listed = await store.listItems(t, "S001", { limit: 10 });
        expect(listed.map((i) => i.itemCode)).toEqual(["RACE"]);
        const createdAt = new Set(results.map((r) => ms(r.item, "createdAt")));
        expect(createdAt.size).toBe(1);
      });

      it("20 concurrent revives of one deleted code: exactly one creates it", async () => {
        const t = freshTenant();
        await store.upsertItem(itemInput(t, "RACE"));
        await store.deleteItem(t, "RACE");
        const results = await Promise.all(Array.from({ length: 20 }, () => store.upsertItem(itemInput(t, "RACE"))));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(await store.countItems(t)).toBe(1);
      });
    });
  });
}

/** Writing to any part of a frozen item throws (ES modules are strict), and it is recorded as frozen whole. */
function expectFrozen(item: Item): void {
  expect(isFrozenMessage(item)).toBe(true);
  expect(() => {
    item.description = "changed result";
  }).toThrow(TypeError);
  expect(() => item.imageUrls.push("https://img.example/result.png")).toThrow(TypeError);
  const price = item.price;
  if (price !== undefined) {
    expect(() => {
      price.amount = 2n;
    }).toThrow(TypeError);
  }
  const created = item.createdAt;
  if (created !== undefined) {
    expect(() => {
      created.seconds = 0n;
    }).toThrow(TypeError);
  }
}
