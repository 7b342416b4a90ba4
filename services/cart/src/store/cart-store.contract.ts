import { clone } from "@bufbuild/protobuf";
import { type Cart, CartSchema, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bigAmount, line, richCart, yen } from "./cart-fixture.js";
import { CartExistsError, type CartKey, type CartStore, TooManyOpenCartsError } from "./cart-store.js";

export interface CartStoreHarness {
  store: CartStore;
  /** Leaves the cart `seconds` to live, as if time had passed; 0 expires it. */
  expireIn(key: CartKey, seconds: number): Promise<void>;
}

const ttl = 600;
const closedTtlSeconds = 60;

let keySeq = 0;
const runId = Math.random().toString(36).slice(2, 8);
/** A cart id of its own per test, so tests share a store without seeing each other's carts. */
function freshKey(): CartKey {
  return { tenantId: "T1", storeCode: "S001", cartId: `cart-${runId}-${++keySeq}` };
}

function appendLine(itemCode: string): (current: Cart) => Cart {
  return (current) => {
    const next = clone(CartSchema, current);
    next.lines.push(line(next.lines.length + 1, itemCode));
    return next;
  };
}

/** ONE suite that every CartStore implementation must pass. */
export function runCartStoreContract(
  label: string,
  open: (options: {
    ttlSeconds: number;
    closedTtlSeconds: number;
    maxOpenCartsPerTerminal: number;
  }) => Promise<CartStoreHarness>,
): void {
  describe(`CartStore contract: ${label}`, () => {
    let harness: CartStoreHarness;
    let store: CartStore;

    beforeAll(async () => {
      // No cap on open carts here (the tests share terminal T01); the cap's own test opens another store.
      harness = await open({ ttlSeconds: ttl, closedTtlSeconds, maxOpenCartsPerTerminal: 10_000 });
      store = harness.store;
    });

    afterAll(async () => {
      await store?.close();
    });

    it("answers ping while its backing service is up (readiness)", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    async function expectTtlFresh(key: CartKey): Promise<void> {
      const left = await store.ttlSeconds(key);
      // A slow machine may tick a few seconds between the write and the question.
      expect(left).toBeGreaterThan(ttl - 10);
      expect(left).toBeLessThanOrEqual(ttl);
    }

    it("round-trips a cart with every field, int64 amounts above 2^53 exactly", async () => {
      const key = freshKey();
      const cart = richCart(key);
      await store.create(cart);
      const got = await store.get(key);
      expect(got).toEqual(cart);
      expect(got?.lines[0]?.unitPrice?.amount).toBe(bigAmount);
      expect(got?.payments[1]?.amount?.amount).toBe(-1n);
      expect(got?.updatedAt?.nanos).toBe(123_456_789);
    });

    it("answers undefined and -2 for a cart that does not exist", async () => {
      const key = freshKey();
      expect(await store.get(key)).toBeUndefined();
      expect(await store.ttlSeconds(key)).toBe(-2);
    });

    it("keeps carts of other tenants and stores apart, even with the same id", async () => {
      const key = freshKey();
      const otherStore = { ...key, storeCode: "S002" };
      const otherTenant = { ...key, tenantId: "T2" };
      await store.create(richCart(key));
      expect(await store.get(otherStore)).toBeUndefined();
      await store.create({ ...richCart(otherStore), staffId: "OTHER-STORE" });
      await store.create({ ...richCart(otherTenant), staffId: "OTHER-TENANT" });
      expect((await store.get(key))?.staffId).toBe("STAFF-7");
      expect((await store.get(otherStore))?.staffId).toBe("OTHER-STORE");
      expect((await store.get(otherTenant))?.staffId).toBe("OTHER-TENANT");
    });

    it("refuses to create a cart twice and keeps the first", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      const second = { ...richCart(key), staffId: "INTRUDER" };
      const error = await store.create(second).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CartExistsError);
      expect((error as CartExistsError).key).toEqual(key);
      expect((await store.get(key))?.staffId).toBe("STAFF-7");
    });

    it("applies an update and returns the cart as stored", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      const updated = await store.update(key, (current) => ({
        ...appendLine("NEW")(current),
        status: CartStatus.ENTERING_ITEM,
        totalAmount: yen(bigAmount + 2n),
      }));
      expect(updated?.lines.map((l) => l.itemCode)).toEqual(["4901234567894", "ITEM2", "NEW"]);
      expect(updated?.status).toBe(CartStatus.ENTERING_ITEM);
      expect(updated?.totalAmount?.amount).toBe(bigAmount + 2n);
      expect(await store.get(key)).toEqual(updated);
    });

    it("writes nothing when the change returns undefined, and returns the current cart", async () => {
      const key = freshKey();
      const cart = richCart(key);
      await store.create(cart);
      await harness.expireIn(key, 5);
      const result = await store.update(key, (current) => {
        // A change that scribbles on its argument (read-only: the write may throw) and then declines must leave no trace.
        scribble(() => {
          current.staffId = "SCRIBBLE";
          current.lines.length = 0;
        });
        return undefined;
      });
      expect(result).toEqual(cart);
      expect(await store.get(key)).toEqual(cart);
      // No write, no fresh TTL.
      expect(await store.ttlSeconds(key)).toBeLessThanOrEqual(5);
    });

    it("writes nothing when the change throws, and lets the error through", async () => {
      const key = freshKey();
      const cart = richCart(key);
      await store.create(cart);
      const boom = new Error("quantity must be 1..9999, got 0");
      await expect(
        store.update(key, (current) => {
          scribble(() => {
            current.staffId = "SCRIBBLE";
          });
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await store.get(key)).toEqual(cart);
    });

    it("answers undefined for an update of a missing cart without calling the change", async () => {
      let calls = 0;
      const result = await store.update(freshKey(), (current) => {
        calls++;
        return current;
      });
      expect(result).toBeUndefined();
      expect(calls).toBe(0);
    });

    it("refuses an update that moves the cart to another key", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      await expect(store.update(key, (current) => ({ ...current, cartId: "elsewhere" }))).rejects.toThrow(
        /cannot change the key/,
      );
      expect((await store.get(key))?.cartId).toBe(key.cartId);
    });

    it("sets the TTL on create and refreshes it on every update", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      await expectTtlFresh(key);
      await harness.expireIn(key, 5);
      const left = await store.ttlSeconds(key);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(5);
      await store.update(key, appendLine("A"));
      await expectTtlFresh(key);
    });

    it("forgets an expired cart: get, update and ttl see nothing, and the id can be created again", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      await harness.expireIn(key, 0);
      expect(await store.get(key)).toBeUndefined();
      expect(await store.update(key, appendLine("LATE"))).toBeUndefined();
      expect(await store.ttlSeconds(key)).toBe(-2);
      await store.create({ ...richCart(key), staffId: "SECOND-LIFE" });
      expect((await store.get(key))?.staffId).toBe("SECOND-LIFE");
    });

    it("loses no update among 100 concurrent ones on one cart", async () => {
      const key = freshKey();
      await store.create({ ...richCart(key), lines: [] });
      const codes = Array.from({ length: 100 }, (_, i) => `C${String(i).padStart(3, "0")}`);
      const results = await Promise.all(codes.map((code) => store.update(key, appendLine(code))));
      // Each caller sees its own line in what it got back.
      for (const [i, r] of results.entries()) expect(r?.lines.some((l) => l.itemCode === codes[i])).toBe(true);
      const final = await store.get(key);
      expect(final?.lines).toHaveLength(100);
      expect(final?.lines.map((l) => l.lineNo)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(final?.lines.map((l) => l.itemCode).sort()).toEqual(codes);
    });

    it("hands out read-only carts: mutating an input or a result does not change the store", async () => {
      const key = freshKey();
      const input = richCart(key);
      await store.create(input);
      input.staffId = "changed input";
      input.lines.push(line(9));
      const firstLine = input.lines[0];
      if (firstLine?.unitPrice) firstLine.unitPrice.amount = 1n;

      const got = await store.get(key);
      if (got === undefined) throw new Error("cart missing");
      scribble(() => {
        got.staffId = "changed result";
      });
      scribble(() => {
        got.lines.length = 0;
      });

      let returnedByChange: Cart | undefined;
      const updated = await store.update(key, (current) => {
        returnedByChange = { ...current, terminalId: "T02" };
        return returnedByChange;
      });
      if (updated === undefined || returnedByChange === undefined) throw new Error("cart missing");
      const kept = returnedByChange;
      scribble(() => {
        updated.staffId = "changed update result";
      });
      scribble(() => {
        kept.staffId = "changed after update";
      });
      scribble(() => {
        kept.lines.length = 0;
      });

      const again = await store.get(key);
      expect(again).toEqual({ ...richCart(key), terminalId: "T02" });
    });

    const closeWith =
      (status: CartStatus, transactionNo: string) =>
      (current: Cart): Cart =>
        ({ ...current, status, transactionNo }) as Cart;

    it("closing files the closed cart in the outbox until recorded(), and lives the closed TTL", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      const closed = await store.closeCart(key, closeWith(CartStatus.COMPLETED, "7"));
      expect(closed).toMatchObject({ status: CartStatus.COMPLETED, transactionNo: "7" });
      expect(await store.get(key)).toEqual(closed);
      const left = await store.ttlSeconds(key);
      expect(left).toBeGreaterThan(closedTtlSeconds - 10);
      expect(left).toBeLessThanOrEqual(closedTtlSeconds);
      const mine = (carts: Cart[]) => carts.filter((c) => c.cartId === key.cartId);
      expect(mine(await store.pendingRecords({ limit: 1000, minAgeMs: 0 }))).toEqual([closed]);
      expect(await store.countPendingRecords()).toBeGreaterThanOrEqual(1);
      // Too young: its own Bill is most likely recording it right now.
      expect(mine(await store.pendingRecords({ limit: 1000, minAgeMs: 60_000 }))).toEqual([]);
      await store.recorded(key);
      await store.recorded(key);
      expect(mine(await store.pendingRecords({ limit: 1000, minAgeMs: 0 }))).toEqual([]);
    });

    it("keeps the pending record when the closed cart itself expires", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      const closed = await store.closeCart(key, closeWith(CartStatus.CANCELLED, "8"));
      await harness.expireIn(key, 0);
      expect(await store.get(key)).toBeUndefined();
      const pending = await store.pendingRecords({ limit: 1000, minAgeMs: 0 });
      expect(pending.filter((c) => c.cartId === key.cartId)).toEqual([closed]);
      await store.recorded(key);
    });

    it("a close that writes nothing files nothing", async () => {
      const key = freshKey();
      await store.create(richCart(key));
      expect(await store.closeCart(key, () => undefined)).toEqual(richCart(key));
      expect(
        await store.closeCart({ ...key, cartId: `${key.cartId}-missing` }, closeWith(CartStatus.COMPLETED, "1")),
      ).toBeUndefined();
      const pending = await store.pendingRecords({ limit: 1000, minAgeMs: 0 });
      expect(pending.filter((c) => c.cartId.startsWith(key.cartId))).toEqual([]);
    });

    it("caps the open carts of a terminal; closing one, or its expiry, frees a place", async () => {
      const capped = await open({ ttlSeconds: ttl, closedTtlSeconds, maxOpenCartsPerTerminal: 2 });
      try {
        const terminalId = `cap-${runId}-${++keySeq}`;
        const [ka, kb, kc, kd] = [freshKey(), freshKey(), freshKey(), freshKey()];
        const at = (key: CartKey): Cart => ({ ...richCart(key), terminalId });
        await capped.store.create(at(ka));
        await capped.store.create(at(kb));
        await expect(capped.store.create(at(kc))).rejects.toThrow(TooManyOpenCartsError);
        await expect(capped.store.create(at(kc))).rejects.toThrow(/terminal cap-.* has 2 open carts/);
        // Another terminal has places of its own.
        await capped.store.create({ ...at(kc), terminalId: `${terminalId}-other` });
        await capped.store.closeCart(ka, closeWith(CartStatus.COMPLETED, "1"));
        await capped.store.recorded(ka);
        await capped.store.create(at(kd));
        await expect(capped.store.create(at({ ...kc, cartId: `${kc.cartId}-2` }))).rejects.toThrow(
          TooManyOpenCartsError,
        );
        await capped.expireIn(kb, 0);
        await capped.store.create(at({ ...kc, cartId: `${kc.cartId}-3` }));
      } finally {
        await capped.store.close();
      }
    });

    it("a cart read before an update stays as it was read", async () => {
      const key = freshKey();
      await store.create({ ...richCart(key), lines: [] });
      const before = await store.get(key);
      await store.update(key, appendLine("A"));
      expect(before?.lines).toHaveLength(0);
      expect((await store.get(key))?.lines).toHaveLength(1);
    });
  });
}

/** Tries a write to a cart a store handed out: frozen carts throw, copies take it; neither may reach the store. */
function scribble(write: () => void): void {
  try {
    write();
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
}
