import { CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { describe, expect, it } from "vitest";
import { line, richCart } from "./cart-fixture.js";
import { runCartStoreContract } from "./cart-store.contract.js";
import { cartHeapBytes, createMemoryCartStore } from "./memory-cart-store.js";

runCartStoreContract("memory", async (bounds) => {
  let clock = Date.now();
  const store = createMemoryCartStore({ ...bounds, now: () => clock });
  return {
    store,
    async expireIn(key, seconds) {
      clock += ((await store.ttlSeconds(key)) - seconds) * 1000;
    },
  };
});

describe("memory cart store", () => {
  it("keeps a cart ten hours by default, and not a millisecond longer", async () => {
    let clock = 1_000_000;
    const store = createMemoryCartStore({ now: () => clock });
    const key = { tenantId: "T1", storeCode: "S001", cartId: "c1" };
    await store.create(richCart(key));
    expect(await store.ttlSeconds(key)).toBe(36_000);
    clock += 36_000_000 - 1;
    expect(await store.ttlSeconds(key)).toBe(1);
    expect(await store.get(key)).toBeDefined();
    clock += 1;
    expect(await store.get(key)).toBeUndefined();
  });

  it("drops the least recently used cart when full, counts it, and never drops a pending record", async () => {
    const store = createMemoryCartStore({ maxCarts: 3 });
    const key = (n: number) => ({ tenantId: "T1", storeCode: "S001", cartId: `lru-${n}` });
    for (const n of [1, 2, 3]) await store.create({ ...richCart(key(n)), cartId: `lru-${n}` });
    await store.closeCart(key(1), (c) => ({ ...c, status: CartStatus.COMPLETED, transactionNo: "1" }));
    // Cart 2 is now the one used least recently.
    await store.get(key(3));
    await store.create({ ...richCart(key(4)), cartId: "lru-4" });
    expect(await store.get(key(2))).toBeUndefined();
    expect(await store.get(key(4))).toBeDefined();
    expect(store.stats()).toMatchObject({ carts: 3, maxCarts: 3, evictions: 1, pendingRecords: 1 });
    await store.create({ ...richCart(key(5)), cartId: "lru-5" });
    await store.create({ ...richCart(key(6)), cartId: "lru-6" });
    expect(await store.get(key(1))).toBeUndefined();
    expect((await store.pendingRecords({ limit: 10, minAgeMs: 0 })).map((c) => c.cartId)).toEqual(["lru-1"]);
  });

  it("bounds the carts' estimated heap too: long carts take more room", async () => {
    const long = (n: number) => ({
      ...richCart({ tenantId: "T1", storeCode: "S001", cartId: `long-${n}` }),
      lines: Array.from({ length: 100 }, (_, i) => line(i + 1)),
    });
    const one = cartHeapBytes(long(0));
    expect(one).toBeGreaterThan(40_000);
    const store = createMemoryCartStore({ maxBytes: one * 2 });
    for (const n of [1, 2, 3]) await store.create(long(n));
    expect(store.stats()).toMatchObject({ carts: 2, evictions: 1 });
    expect(store.stats().bytes).toBeLessThanOrEqual(one * 2);
  });
});
