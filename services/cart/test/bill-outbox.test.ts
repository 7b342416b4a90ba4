import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { StoreUnavailableError } from "@pos/common";
import { freshMongoDatabase, mongoUriForSuite, spawnService } from "@pos/common/testing";
import { CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CartStore } from "../src/store/cart-store.js";
import type { TransactionLog } from "../src/store/transaction-log.js";
import { type RunningCart, redisUrl, startCart } from "./cart-harness.js";

// Bill and CancelCart with the cart store or the transaction log failing at each of their steps,
// one step at a time (a wrapper in front of the real Redis and FerretDB fails on cue), and no client
// retry: once the log is back, the outbox drain leaves every closed cart with exactly one record and
// every other cart without one. The real kill of FerretDB is bill-fault-process.test.ts.

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const uri = mongoUriForSuite("Bill's outbox with faults at every step");

type Store = "carts" | "transactions";
type When = "before" | "after";
/** The store calls of Bill and CancelCart, in the order they make them. */
const steps: [Store, keyof CartStore | keyof TransactionLog][] = [
  ["carts", "get"],
  ["transactions", "assignNumber"],
  ["carts", "closeCart"],
  ["transactions", "record"],
  ["carts", "recorded"],
];

interface Armed {
  store: Store;
  method: string;
  when: When;
}

/**
 * `inner` with one method failing once as an unreachable backend would: before the call reaches it
 * ("before": nothing happened) or after it answered ("after": it happened, the answer was lost).
 */
function faulty<T extends object>(inner: T, store: Store, armed: { current: Armed | undefined }): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      const fault = armed.current;
      if (typeof value !== "function" || fault?.store !== store || fault.method !== prop) return value;
      return async (...args: unknown[]) => {
        armed.current = undefined;
        const injected = new StoreUnavailableError(`${store} unavailable: injected ${fault.when} ${String(prop)}`);
        if (fault.when === "before") throw injected;
        await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        throw injected;
      };
    },
  });
}

if (uri !== undefined) {
  const fresh = freshMongoDatabase(uri, "pos_cart_outbox", 10_000);
  const run = randomBytes(3).toString("hex");
  const prefix = `test:outbox:${run}:`;
  const mongodbUri = uri.replace(/\/?$/, `/${fresh.name}`);
  const armed: { current: Armed | undefined } = { current: undefined };
  let masterData: RunningMasterData;
  let cart: RunningCart;

  beforeAll(async () => {
    masterData = await startMasterData();
    cart = await startCart(
      { url: masterData.baseUrl, protocol: "connect", httpVersion: "1.1", format: "binary" },
      {
        mongodbUri,
        stores: { redisKeyPrefix: prefix },
        wrap: (deps) => ({
          carts: faulty(deps.carts, "carts", armed),
          transactions: faulty(deps.transactions, "transactions", armed),
        }),
      },
    );
  }, 60_000);

  afterAll(async () => {
    await cart?.close();
    await masterData?.close();
    const raw = await createClient({ url: redisUrl }).connect();
    const keys: string[] = [];
    for await (const batch of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
    if (keys.length > 0) await raw.del(keys);
    await raw.close();
  });

  const cases = (["bill", "cancelCart"] as const).flatMap((rpc) =>
    steps.flatMap(([store, method]) => (["before", "after"] as const).map((when) => ({ rpc, store, method, when }))),
  );

  describe("Bill and CancelCart with a store failing at each step, no client retry", () => {
    const outcomes: { label: string; storeCode: string; cartId: string; code: Code | "ok"; number?: string }[] = [];

    it.each(cases)(
      "$rpc: $store.$method fails $when it runs → unavailable, or ok once the record is stored",
      async (c) => {
        const storeCode = `S${run}${outcomes.length}`;
        const { client } = cart;
        const { cart: created } = await client.createCart({
          tenantId: "T0001",
          storeCode,
          terminalId: "R01",
          staffId: "STAFF1",
        });
        const ref = { tenantId: "T0001", storeCode, cartId: created?.cartId ?? "" };
        await client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 2 }] });
        if (c.rpc === "bill") {
          await client.subtotal({ cart: ref });
          await client.addPayments({
            cart: ref,
            payments: [{ paymentCode: "01", amount: { amount: 1_000_000n, currencyCode: "JPY" } }],
          });
        }
        armed.current = { store: c.store, method: c.method, when: c.when };
        let code: Code | "ok" = "ok";
        let number: string | undefined;
        try {
          const answer = c.rpc === "bill" ? await client.bill({ cart: ref }) : await client.cancelCart({ cart: ref });
          number = answer.cart?.transactionNo;
        } catch (e) {
          code = ConnectError.from(e).code;
        }
        expect(armed.current, "the fault was reached").toBeUndefined();
        // Once the log has the record the client is told so; a failure to tidy the outbox afterwards is not its business.
        expect(code).toBe(c.store === "carts" && c.method === "recorded" ? "ok" : Code.Unavailable);
        outcomes.push({
          label: `${c.rpc} ${c.store}.${c.method} ${c.when}`,
          storeCode,
          cartId: ref.cartId,
          code,
          number,
        });
      },
    );

    it("a cart process started afterwards drains the outbox: every closed cart has exactly one record (its number), every other cart none", async () => {
      expect(outcomes).toHaveLength(cases.length);
      const { carts, transactions } = cart.deps;
      const pending = (await carts.pendingRecords({ limit: 1000, minAgeMs: 0 })).length;
      // The faults that left a closed cart without its record: closeCart after (the answer lost), record before.
      expect(pending).toBeGreaterThanOrEqual(4);
      // This process has no drain running; another process's drain (a restart, a replica) writes them.
      const proc = spawnService(main, {
        CART_PORT: "0",
        MASTER_DATA_URL: masterData.baseUrl,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        MONGODB_URI: mongodbUri,
        RECORD_DRAIN_INTERVAL_MS: "100",
      });
      try {
        await proc.port(30_000);
        const until = Date.now() + 60_000;
        while ((await carts.pendingRecords({ limit: 1000, minAgeMs: 0 })).length > 0) {
          if (Date.now() > until) throw new Error(`the outbox was not drained within 60 s:\n${proc.output()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(proc.output()).toMatch(/transaction records written from the outbox/);
      } finally {
        await proc.stop("SIGKILL");
      }
      const table: string[] = [];
      for (const o of outcomes) {
        const key = { tenantId: "T0001", storeCode: o.storeCode, cartId: o.cartId };
        const stored = await carts.get(key);
        const record = await transactions.find(key);
        const count = await transactions.count("T0001", o.storeCode);
        const closed = stored?.status === CartStatus.COMPLETED || stored?.status === CartStatus.CANCELLED;
        table.push(
          `${o.label}: ${o.code === "ok" ? "ok" : Code[o.code]}, ${CartStatus[stored?.status ?? 0]}, records ${count}`,
        );
        expect(count, o.label).toBe(closed ? 1 : 0);
        if (closed) expect(record?.cart.transactionNo, o.label).toBe(stored?.transactionNo);
        // Acknowledged means closed and recorded.
        if (o.code === "ok") expect([closed, o.number], o.label).toEqual([true, stored?.transactionNo]);
      }
      console.info(`Bill/CancelCart faults, no retry, after the drain:\n  ${table.join("\n  ")}`);
      // Nothing left in the outbox.
      expect(
        (await carts.pendingRecords({ limit: 1000, minAgeMs: 0 })).filter((p) => p.storeCode.includes(run)),
      ).toEqual([]);
    });

    it("a client that does retry later gets the same number; the carts left open close with one record each", async () => {
      const numbers = new Set<string>();
      for (const o of outcomes) {
        const ref = { tenantId: "T0001", storeCode: o.storeCode, cartId: o.cartId };
        const answer = o.label.startsWith("bill")
          ? await cart.client.bill({ cart: ref })
          : await cart.client.cancelCart({ cart: ref });
        if (o.number !== undefined) expect(answer.cart?.transactionNo, o.label).toBe(o.number);
        expect(await cart.deps.transactions.count("T0001", o.storeCode), o.label).toBe(1);
        // One terminal per store here: its first number, whichever attempt allocated it.
        expect(answer.cart?.transactionNo, o.label).toBe("1");
        numbers.add(`${o.storeCode}/${answer.cart?.transactionNo}`);
      }
      expect(numbers.size).toBe(outcomes.length);
    });
  });
}
