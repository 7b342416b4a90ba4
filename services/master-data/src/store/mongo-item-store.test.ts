import { freshMongoDatabase, mongoUriForSuite } from "@pos/common/testing";
import { describe, expect, it } from "vitest";
import { runItemStoreContract } from "./item-store.contract.js";
import { StoreUnavailableError } from "./item-store.js";
import { connectMongoItemStore, createMongoItemStore, indexNames } from "./mongo-item-store.js";

const uri = mongoUriForSuite("ItemStore contract: mongodb");
// Generous: FerretDB takes its time over 1,000-record bulk writes on a busy machine.
const timeoutMs = 60_000;

if (uri !== undefined) {
  const fresh = freshMongoDatabase(uri, "pos_contract", timeoutMs);
  const dbName = fresh.name;

  // The store that main.ts uses: it owns its client.
  runItemStoreContract("mongodb", () => connectMongoItemStore(uri, { timeoutMs, dbName }));

  describe("MongoDB item store", () => {
    it("creates unique indexes on start-up, and creating them again is harmless", async () => {
      const first = await createMongoItemStore(fresh.db());
      const second = await createMongoItemStore(fresh.db());
      const itemIndexes = await fresh.db().collection("items").indexes();
      const priceIndexes = await fresh.db().collection("store_prices").indexes();
      expect(itemIndexes.find((i) => i.name === indexNames.items)).toMatchObject({
        key: { tenant_id: 1, item_code: 1 },
        unique: true,
      });
      expect(itemIndexes.find((i) => i.name === indexNames.itemsByCategory)?.key).toEqual({
        tenant_id: 1,
        category_code: 1,
        item_code: 1,
      });
      expect(priceIndexes.find((i) => i.name === indexNames.storePrices)).toMatchObject({
        key: { tenant_id: 1, store_code: 1, item_code: 1 },
        unique: true,
      });
      expect(itemIndexes).toHaveLength(3); // _id + ours, no duplicates from the second start
      await first.close();
      await second.close();
      // Not owned: closing the stores leaves the shared client usable.
      expect(await fresh.db().collection("items").countDocuments({ tenant_id: "none" })).toBe(0);
    });

    it("fails fast with StoreUnavailableError when nothing listens", async () => {
      const started = performance.now();
      const error = await connectMongoItemStore("mongodb://127.0.0.1:1/x", { timeoutMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/^MongoDB unavailable: /);
      expect((error as Error).message).not.toMatch(/\n\s+at /);
      expect(elapsed).toBeLessThan(2000);
    });

    it("maps an operation on a server that went away to StoreUnavailableError", async () => {
      const store = await connectMongoItemStore(uri, { timeoutMs: 300, dbName });
      await store.close();
      await expect(store.countItems("t")).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
