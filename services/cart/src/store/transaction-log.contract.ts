import { type Cart, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bigAmount, richCart } from "./cart-fixture.js";
import { type CartKey, freezeCart } from "./cart-store.js";
import type { TransactionLog } from "./transaction-log.js";

let seq = 0;
const runId = Math.random().toString(36).slice(2, 8);
/** A store of its own per test, so that counts start at zero. */
function freshKey(): CartKey {
  return { tenantId: `T-${runId}`, storeCode: `S${++seq}`, cartId: `cart-${seq}` };
}

function finalCart(key: CartKey, transactionNo: string, status = CartStatus.COMPLETED): Cart {
  return { ...richCart(key), status, transactionNo };
}

/** ONE suite that every TransactionLog implementation must pass. */
export function runTransactionLogContract(label: string, open: () => Promise<TransactionLog>): void {
  describe(`TransactionLog contract: ${label}`, () => {
    let log: TransactionLog;

    beforeAll(async () => {
      log = await open();
    });

    afterAll(async () => {
      await log?.close();
    });

    it("answers ping while its backing service is up (readiness)", async () => {
      await expect(log.ping()).resolves.toBeUndefined();
    });

    it("records a sale once and finds it again, every field and int64 amounts above 2^53 intact", async () => {
      const key = freshKey();
      const cart = finalCart(key, "0001");
      expect(await log.record({ kind: "sale", cart })).toEqual({ written: true });
      const found = await log.find(key);
      expect(found?.kind).toBe("sale");
      expect(found?.cart).toEqual(cart);
      expect(found?.cart.lines[0]?.unitPrice?.amount).toBe(bigAmount);
    });

    it("writes nothing on a repeat and keeps the first record", async () => {
      const key = freshKey();
      const first = finalCart(key, "0001");
      await log.record({ kind: "sale", cart: first });
      const repeat = await log.record({ kind: "cancel", cart: finalCart(key, "0002", CartStatus.CANCELLED) });
      expect(repeat).toEqual({ written: false });
      const found = await log.find(key);
      expect(found?.kind).toBe("sale");
      expect(found?.cart).toEqual(first);
      expect(await log.count(key.tenantId, key.storeCode)).toBe(1);
    });

    it("writes exactly once when 20 retried Bills of one cart arrive together", async () => {
      const key = freshKey();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => log.record({ kind: "sale", cart: finalCart(key, `N${i}`) })),
      );
      expect(results.filter((r) => r.written)).toHaveLength(1);
      const winner = results.findIndex((r) => r.written);
      expect((await log.find(key))?.cart.transactionNo).toBe(`N${winner}`);
      expect(await log.count(key.tenantId, key.storeCode)).toBe(1);
    });

    it("records a cancel, keyed by tenant, store and cart id", async () => {
      const key = freshKey();
      const cancelled = { ...finalCart(key, "C-0001", CartStatus.CANCELLED), lines: [], payments: [] };
      expect(await log.record({ kind: "cancel", cart: cancelled })).toEqual({ written: true });
      // Same cart id elsewhere: another record.
      const otherStore = { ...key, storeCode: `${key.storeCode}-B` };
      const otherTenant = { ...key, tenantId: `${key.tenantId}-B` };
      expect(await log.record({ kind: "sale", cart: finalCart(otherStore, "0001") })).toEqual({ written: true });
      expect(await log.record({ kind: "sale", cart: finalCart(otherTenant, "0001") })).toEqual({ written: true });
      expect(await log.find(key)).toEqual({ kind: "cancel", cart: cancelled });
      expect((await log.find(otherStore))?.kind).toBe("sale");
    });

    it("numbers each terminal's carts 1, 2, 3, … on its own, per tenant, store and terminal", async () => {
      const key = freshKey();
      const on = (terminalId: string, cartId: string, k: Partial<CartKey> = {}) =>
        log.assignNumber({ ...key, ...k, terminalId, cartId });
      expect([await on("R01", "a"), await on("R01", "b"), await on("R02", "c"), await on("R01", "d")]).toEqual([
        1, 2, 1, 3,
      ]);
      // The same terminal id in another store or tenant counts apart.
      expect(await on("R01", "a", { storeCode: `${key.storeCode}-B` })).toBe(1);
      expect(await on("R01", "a", { tenantId: `${key.tenantId}-B` })).toBe(1);
      expect(await on("R02", "e")).toBe(2);
    });

    it("gives a cart asked again its number, allocating nothing: the next cart gets the next number", async () => {
      const key = freshKey();
      const cart = { ...key, terminalId: "R01" };
      expect(await log.assignNumber(cart)).toBe(1);
      expect(await log.assignNumber(cart)).toBe(1);
      expect(await log.assignNumber({ ...cart, cartId: "next" })).toBe(2);
      expect(await log.assignNumber(cart)).toBe(1);
    });

    it("hands 30 carts of one terminal asking at once the numbers 1..30, and one cart asking 10 times at once one number", async () => {
      const key = freshKey();
      const carts = Array.from({ length: 30 }, (_, i) => ({ ...key, terminalId: "R01", cartId: `c${i}` }));
      const numbers = await Promise.all(carts.map((c) => log.assignNumber(c)));
      expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      // Asked again, every cart still has its own.
      expect(await Promise.all(carts.map((c) => log.assignNumber(c)))).toEqual(numbers);
      const one = { ...key, terminalId: "R01", cartId: "retried" };
      expect(new Set(await Promise.all(Array.from({ length: 10 }, () => log.assignNumber(one))))).toEqual(
        new Set([31]),
      );
    });

    it("answers undefined for a cart never recorded", async () => {
      expect(await log.find(freshKey())).toBeUndefined();
    });

    it("counts the records of one store only", async () => {
      const key = freshKey();
      expect(await log.count(key.tenantId, key.storeCode)).toBe(0);
      for (let i = 0; i < 3; i++) {
        await log.record({ kind: i === 1 ? "cancel" : "sale", cart: finalCart({ ...key, cartId: `c${i}` }, `${i}`) });
      }
      await log.record({ kind: "sale", cart: finalCart({ ...key, storeCode: `${key.storeCode}-X` }, "9") });
      await log.record({ kind: "sale", cart: finalCart({ ...key, tenantId: `${key.tenantId}-X` }, "9") });
      expect(await log.count(key.tenantId, key.storeCode)).toBe(3);
      expect(await log.count(key.tenantId, `${key.storeCode}-X`)).toBe(1);
    });

    it("hands out copies: mutating an input or a result does not change the log", async () => {
      const key = freshKey();
      const cart = finalCart(key, "0001");
      await log.record({ kind: "sale", cart });
      cart.transactionNo = "changed input";
      cart.lines.length = 0;
      const found = await log.find(key);
      if (found === undefined) throw new Error("record missing");
      found.cart.staffId = "changed result";
      found.cart.payments.length = 0;
      expect((await log.find(key))?.cart).toEqual(finalCart(key, "0001"));
    });

    it("records a cart as the store hands it out (frozen whole) and finds it as a copy one may change", async () => {
      const key = freshKey();
      const cart = freezeCart(finalCart(key, "0002"));
      expect(await log.record({ kind: "sale", cart })).toEqual({ written: true });
      const found = await log.find(key);
      if (found === undefined) throw new Error("record missing");
      expect(found.cart).toEqual(finalCart(key, "0002"));
      found.cart.transactionNo = "changed result";
      found.cart.lines.length = 0;
      expect((await log.find(key))?.cart).toEqual(finalCart(key, "0002"));
    });
  });
}
