import { StoreUnavailableError } from "@pos/common";
import { freshMongoDatabase, mongoUriForSuite } from "@pos/common/testing";
import { CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { Long, MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { bigAmount, richCart } from "./cart-fixture.js";
import {
  collectionName,
  connectMongoTransactionLog,
  createMongoTransactionLog,
  numberIndexName,
  numbersCollectionName,
  uniqueIndexName,
} from "./mongo-transaction-log.js";
import { runTransactionLogContract } from "./transaction-log.contract.js";

const uri = mongoUriForSuite("MongoDB transaction log");
// Bounds every MongoDB call of the suite: a loaded 2-core machine makes FerretDB slow, not wrong.
const timeoutMs = 30_000;

if (uri !== undefined) {
  const fresh = freshMongoDatabase(uri, "pos_cart_test", timeoutMs);
  const dbName = fresh.name;

  // The log that main.ts uses: it owns its client.
  runTransactionLogContract("mongodb", () => connectMongoTransactionLog(uri, { timeoutMs, dbName }));

  describe("MongoDB transaction log", () => {
    it("creates the unique index on start-up, and creating it again is harmless", async () => {
      const first = await createMongoTransactionLog(fresh.db());
      const second = await createMongoTransactionLog(fresh.db());
      const indexes = await fresh.db().collection(collectionName).indexes();
      expect(indexes.find((i) => i.name === uniqueIndexName)).toMatchObject({
        key: { tenant_id: 1, store_code: 1, cart_id: 1 },
        unique: true,
      });
      expect(indexes).toHaveLength(2); // _id + ours
      const numberIndexes = await fresh.db().collection(numbersCollectionName).indexes();
      expect(numberIndexes.find((i) => i.name === numberIndexName)).toMatchObject({
        key: { tenant_id: 1, store_code: 1, terminal_id: 1, number: 1 },
        unique: true,
      });
      expect(numberIndexes.find((i) => i.name === uniqueIndexName)).toMatchObject({
        key: { tenant_id: 1, store_code: 1, cart_id: 1 },
        unique: true,
      });
      await first.close();
      await second.close();
      // Not owned: closing the logs leaves the shared client usable.
      expect(await fresh.db().collection(collectionName).countDocuments({ tenant_id: "none" })).toBe(0);
    });

    it("writes with majority write concern, journaled: a replica set's failover cannot lose a sale", async () => {
      const client = new MongoClient(uri, { monitorCommands: true, serverSelectionTimeoutMS: timeoutMs });
      const seen: { name: string; writeConcern: unknown }[] = [];
      client.on("commandStarted", (e) => {
        if (e.commandName === "insert") seen.push({ name: e.command.insert, writeConcern: e.command.writeConcern });
      });
      try {
        const log = await createMongoTransactionLog(client.db(dbName));
        await log.assignNumber({ tenantId: "T-wc", storeCode: "S001", terminalId: "R01", cartId: "c-wc" });
        await log.record({
          kind: "sale",
          cart: { ...richCart({ tenantId: "T-wc", storeCode: "S001", cartId: "c-wc" }), status: CartStatus.COMPLETED },
        });
        expect(seen.map((s) => s.name)).toEqual([numbersCollectionName, collectionName]);
        for (const s of seen) expect(s.writeConcern).toEqual({ w: "majority", j: true });
      } finally {
        await client.close();
      }
    });

    it("stores columns for reports: ids, kind, status, int64 totals and the cart as protobuf JSON", async () => {
      const log = await createMongoTransactionLog(fresh.db());
      const key = { tenantId: "T-doc", storeCode: "S001", cartId: "c-doc" };
      const before = Date.now();
      await log.record({ kind: "sale", cart: { ...richCart(key), status: CartStatus.COMPLETED, transactionNo: "42" } });
      const doc = await fresh
        .db()
        .collection(collectionName)
        .findOne({ tenant_id: "T-doc", cart_id: "c-doc" }, { promoteLongs: false });
      if (doc === null) throw new Error("the record was not written");
      expect(doc).toMatchObject({
        tenant_id: "T-doc",
        store_code: "S001",
        cart_id: "c-doc",
        terminal_id: "T01",
        staff_id: "STAFF-7",
        transaction_no: "42",
        kind: "sale",
        status: "CART_STATUS_COMPLETED",
        currency_code: "JPY",
      });
      expect(doc.total_amount).toBeInstanceOf(Long);
      expect((doc.total_amount as Long).toBigInt()).toBe(bigAmount * 3n);
      expect((doc.paid_amount as Long).toBigInt()).toBe(bigAmount);
      expect((doc.created_at as Date).getTime()).toBeGreaterThanOrEqual(before - 1);
      expect(doc.cart).toMatchObject({ cartId: "c-doc", transactionNo: "42", status: "CART_STATUS_COMPLETED" });
    });

    it("shares one sequence between two processes' logs asking at once, and keeps counting after a restart", async () => {
      const terminal = { tenantId: "T-two", storeCode: "S001", terminalId: "R01" };
      const [a, b] = await Promise.all([1, 2].map(() => connectMongoTransactionLog(uri, { timeoutMs, dbName })));
      let numbers: number[];
      try {
        numbers = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b)!.assignNumber({ ...terminal, cartId: `c${i}` })),
        );
      } finally {
        await a?.close();
        await b?.close();
      }
      expect([...numbers].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const restarted = await connectMongoTransactionLog(uri, { timeoutMs, dbName });
      try {
        expect(await restarted.assignNumber({ ...terminal, cartId: "after-restart" })).toBe(41);
        expect(await restarted.assignNumber({ ...terminal, cartId: "c7" })).toBe(numbers[7]);
      } finally {
        await restarted.close();
      }
      const doc = await fresh.db().collection(numbersCollectionName).findOne({ tenant_id: "T-two", number: 41 });
      expect(doc).toMatchObject({ store_code: "S001", terminal_id: "R01", cart_id: "after-restart" });
    });

    it("fails fast with StoreUnavailableError when nothing listens", async () => {
      const started = performance.now();
      const error = await connectMongoTransactionLog("mongodb://127.0.0.1:1/x", { timeoutMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(2000);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/^MongoDB unavailable: .*ECONNREFUSED/);
      expect((error as Error).message).not.toMatch(/\n/);
    });

    it("maps an operation after the client went away to StoreUnavailableError", async () => {
      const log = await connectMongoTransactionLog(uri, { timeoutMs: 300, dbName });
      await log.close();
      await expect(log.count("t", "s")).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(
        log.record({ kind: "sale", cart: richCart({ tenantId: "t", storeCode: "s", cartId: "c" }) }),
      ).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
