import { describe, expect, it } from "vitest";
import { richCart } from "./cart-fixture.js";
import { runCartStoreContract } from "./cart-store.contract.js";
import { createMemoryCartStore } from "./memory-cart-store.js";

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
});
