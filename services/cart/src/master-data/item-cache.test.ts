import { describe, expect, it } from "vitest";
import { createItemCache, itemKey } from "./item-cache.js";

function setup(ttlMs: number, maxEntries: number) {
  // Not 0: lru-cache reads a start time of 0 as "no TTL".
  let clock = 1_000;
  const cache = createItemCache<string>({ ttlMs, maxEntries, now: () => clock });
  return {
    cache,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe("item cache", () => {
  it("serves an entry until its TTL passes", () => {
    const { cache, advance } = setup(30_000, 10);
    cache.set("a", "A");
    advance(30_000);
    expect(cache.get("a")).toBe("A"); // the TTL is inclusive
    advance(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size()).toBe(0);
  });

  it("a hit does not extend the TTL; a set does", () => {
    const { cache, advance } = setup(1_000, 10);
    cache.set("a", "A");
    advance(600);
    cache.get("a");
    advance(600);
    expect(cache.get("a")).toBeUndefined();
    cache.set("b", "B");
    advance(600);
    cache.set("b", "B2");
    advance(600);
    expect(cache.get("b")).toBe("B2");
  });

  it("holds at most maxEntries, evicting the least recently used", () => {
    const { cache } = setup(60_000, 3);
    cache.set("a", "A");
    cache.set("b", "B");
    cache.set("c", "C");
    expect(cache.get("a")).toBe("A"); // a is now the most recently used
    cache.set("d", "D");
    expect(cache.size()).toBe(3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe("A");
    expect(cache.get("c")).toBe("C");
    expect(cache.get("d")).toBe("D");
  });

  it("stays bounded under many distinct keys", () => {
    const { cache } = setup(60_000, 100);
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, `v${i}`);
    expect(cache.size()).toBe(100);
    expect(cache.get("k9999")).toBe("v9999");
    expect(cache.get("k9899")).toBeUndefined();
  });

  it("maxEntries 0 disables caching", () => {
    const { cache } = setup(60_000, 0);
    cache.set("a", "A");
    expect(cache.get("a")).toBeUndefined();
  });

  it("keys items by tenant, store and code without collisions", () => {
    expect(itemKey("T1", "S1", "I1")).not.toBe(itemKey("T1", "S1I", "1"));
    expect(itemKey("T1", "S1", "I1")).not.toBe(itemKey("T1", "S2", "I1"));
    expect(itemKey("T1", "S1", "I1")).toBe(itemKey("T1", "S1", "I1"));
  });
});
