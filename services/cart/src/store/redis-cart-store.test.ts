import net from "node:net";
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { StoreTimeoutError, StoreUnavailableError } from "@pos/common";
import { redisUrlForSuite } from "@pos/common/testing";
import { CartSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { createClient, RESP_TYPES } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { line, richCart } from "./cart-fixture.js";
import { runCartStoreContract } from "./cart-store.contract.js";
import { CartConflictError, type CartKey } from "./cart-store.js";
import { cartRedisKey, connectRedisCartStore, createRedisCartStore } from "./redis-cart-store.js";

// Without Redis (REDIS_URL, default 127.0.0.1:6379) the suite says NOT RUN and why.
const redisUrl = await redisUrlForSuite("redis cart store");

if (redisUrl !== undefined) {
  const keyPrefix = `test:${Math.random().toString(36).slice(2, 10)}:`;

  let raw: ReturnType<typeof createClient>;

  beforeAll(async () => {
    raw = createClient({ url: redisUrl });
    raw.on("error", () => undefined);
    await raw.connect();
  });

  afterAll(async () => {
    if (!raw) return;
    const keys: string[] = [];
    for await (const batch of raw.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 1000 })) keys.push(...batch);
    if (keys.length > 0) await raw.del(keys);
    await raw.close();
  });

  // The store that main.ts uses: it owns its client.
  runCartStoreContract("redis", async (bounds) => ({
    store: await connectRedisCartStore(redisUrl, { ...bounds, timeoutMs: 2000, keyPrefix }),
    async expireIn(key, seconds) {
      await raw.expire(cartRedisKey(key, keyPrefix), seconds);
    },
  }));

  let seq = 0;
  function freshKey(): CartKey {
    return { tenantId: "T1", storeCode: "S001", cartId: `redis-${++seq}` };
  }

  /**
   * A TCP relay in front of Redis that a test can stall (stop relaying replies)
   * or cut (drop every connection and refuse new ones).
   */
  async function startRelay(redis: URL): Promise<{ url: string; stall(): void; cut(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    let stalled = false;
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(redis.port || 6379), redis.hostname);
      sockets.add(client).add(upstream);
      client.on("data", (d) => upstream.write(d));
      upstream.on("data", (d) => {
        if (!stalled) client.write(d);
      });
      for (const s of [client, upstream]) {
        s.on("error", () => undefined);
        s.on("close", () => {
          client.destroy();
          upstream.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    // The suite's Redis URL (credentials and all) with the relay in its place.
    const relayed = new URL(redis.href);
    relayed.hostname = "127.0.0.1";
    relayed.port = String(port);
    return {
      url: relayed.href,
      stall: () => {
        stalled = true;
      },
      cut: async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
      },
    };
  }

  describe("redis cart store", () => {
    it("stores the cart as protobuf binary under cart:<tenant>:<store>:<id>, with the TTL", async () => {
      const store = createRedisCartStore(raw, { keyPrefix });
      const key = freshKey();
      const cart = richCart(key);
      await store.create(cart);
      const redisKey = `${keyPrefix}cart:T1:S001:${key.cartId}`;
      expect(cartRedisKey(key, keyPrefix)).toBe(redisKey);
      const value = await raw.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(redisKey);
      expect(value).not.toBeNull();
      // int64 above 2^53 exactly, as every protobuf reader sees it.
      expect(fromBinary(CartSchema, value as Buffer)).toEqual(cart);
      // The default TTL: ten hours.
      expect(await raw.ttl(redisKey)).toBeGreaterThan(36_000 - 10);
      expect(await raw.ttl(redisKey)).toBeLessThanOrEqual(36_000);
    });

    it("reads and updates a cart stored as protobuf JSON by an earlier version", async () => {
      const store = createRedisCartStore(raw, { keyPrefix });
      const key = freshKey();
      const cart = richCart(key);
      await raw.set(cartRedisKey(key, keyPrefix), toJsonString(CartSchema, cart), {
        expiration: { type: "EX", value: 60 },
      });
      expect(await store.get(key)).toEqual(cart);
      const updated = await store.update(key, (c) => ({ ...c, staffId: "UPGRADED" }));
      expect(updated?.staffId).toBe("UPGRADED");
      // A second store (another process) reads what the first wrote.
      expect((await createRedisCartStore(raw, { keyPrefix }).get(key))?.staffId).toBe("UPGRADED");
    });

    it("sees a change another process made since its last read", async () => {
      const mine = createRedisCartStore(raw, { keyPrefix });
      const theirs = createRedisCartStore(raw, { keyPrefix });
      const key = freshKey();
      await mine.create({ ...richCart(key), lines: [] });
      expect((await mine.get(key))?.lines).toHaveLength(0);
      await theirs.update(key, (c) => ({ ...c, lines: [...c.lines, line(1, "THEIRS")] }));
      expect((await mine.get(key))?.lines.map((l) => l.itemCode)).toEqual(["THEIRS"]);
      // Its remembered value is stale now: the update finds out and applies to the current cart.
      await theirs.update(key, (c) => ({ ...c, lines: [...c.lines, line(2, "THEIRS-2")] }));
      const updated = await mine.update(key, (c) => ({ ...c, lines: [...c.lines, line(c.lines.length + 1, "MINE")] }));
      expect(updated?.lines.map((l) => l.itemCode)).toEqual(["THEIRS", "THEIRS-2", "MINE"]);
      // And a "no write" answers the cart as stored, not the remembered one.
      await theirs.update(key, (c) => ({ ...c, staffId: "CHANGED" }));
      expect((await mine.update(key, () => undefined))?.staffId).toBe("CHANGED");
    });

    it("keeps codes with ':' from colliding", () => {
      const a = cartRedisKey({ tenantId: "a:b", storeCode: "c", cartId: "d" });
      const b = cartRedisKey({ tenantId: "a", storeCode: "b:c", cartId: "d" });
      expect(a).not.toBe(b);
    });

    it("recovers when Redis has forgotten the update script", async () => {
      const store = createRedisCartStore(raw, { keyPrefix });
      const key = freshKey();
      await store.create(richCart(key));
      await raw.scriptFlush();
      const updated = await store.update(key, (c) => ({ ...c, staffId: "AFTER-FLUSH" }));
      expect(updated?.staffId).toBe("AFTER-FLUSH");
      expect((await store.get(key))?.staffId).toBe("AFTER-FLUSH");
    });

    it("loses no update when four service instances, each on its own connection, update one cart at once", async () => {
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => connectRedisCartStore(redisUrl, { timeoutMs: 5000, keyPrefix })),
      );
      const key = freshKey();
      await stores[0]?.create({ ...richCart(key), lines: [] });
      const codes = Array.from({ length: 100 }, (_, i) => `C${String(i).padStart(3, "0")}`);
      await Promise.all(
        codes.map((code, i) =>
          stores[i % 4]?.update(key, (current) => ({
            ...current,
            lines: [...current.lines, line(current.lines.length + 1, code)],
          })),
        ),
      );
      const final = await stores[1]?.get(key);
      expect(final?.lines.map((l) => l.lineNo)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(final?.lines.map((l) => l.itemCode).sort()).toEqual(codes);
      await Promise.all(stores.map((s) => s.close()));
    });

    it("gives up with CartConflictError when every attempt loses the race, writing nothing of its own", async () => {
      const store = createRedisCartStore(raw, { keyPrefix, maxUpdateAttempts: 3 });
      const key = freshKey();
      await store.create(richCart(key));
      const redisKey = cartRedisKey(key, keyPrefix);
      const rivals: Promise<unknown>[] = [];
      let calls = 0;
      const error = await store
        .update(key, (current) => {
          calls++;
          // A rival write queued on the same connection lands before this attempt's compare-and-set.
          const rival = { ...richCart(key), staffId: `RIVAL-${calls}` };
          rivals.push(raw.set(redisKey, toJsonString(CartSchema, rival)));
          return { ...current, lines: [...current.lines, line(99, "MINE")] };
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      await Promise.all(rivals);
      expect(error).toBeInstanceOf(CartConflictError);
      expect((error as CartConflictError).attempts).toBe(3);
      expect(calls).toBe(3);
      const final = await store.get(key);
      expect(final?.staffId).toBe("RIVAL-3");
      expect(final?.lines.some((l) => l.itemCode === "MINE")).toBe(false);
    });

    it("fails every command fast with StoreUnavailableError once the connection is lost", async () => {
      const relay = await startRelay(new URL(redisUrl));
      const store = await connectRedisCartStore(relay.url, { timeoutMs: 5000, keyPrefix });
      const key = freshKey();
      await store.create(richCart(key));
      await relay.cut();
      const started = performance.now();
      for (const op of [
        () => store.get(key),
        () => store.update(key, (c) => c),
        () => store.create(richCart(freshKey())),
      ]) {
        await expect(op()).rejects.toBeInstanceOf(StoreUnavailableError);
      }
      // Well under the 5 s command bound: nothing queued waiting for a reconnect.
      expect(performance.now() - started).toBeLessThan(1000);
      await store.close();
    });

    it("times out with StoreTimeoutError when Redis stops answering", async () => {
      const relay = await startRelay(new URL(redisUrl));
      const store = await connectRedisCartStore(relay.url, { timeoutMs: 300, keyPrefix });
      const key = freshKey();
      await store.create(richCart(key));
      relay.stall();
      const started = performance.now();
      const error = await store.get(key).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(StoreTimeoutError);
      expect((error as Error).message).toBe("Redis timed out: no answer to get within 300 ms");
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1500);
      await store.close();
      await relay.cut();
    });
  });
}

describe("redis cart store, no server needed", () => {
  it("fails fast with StoreUnavailableError when nothing listens", async () => {
    const started = performance.now();
    const error = await connectRedisCartStore("redis://127.0.0.1:1", { timeoutMs: 1000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe("Redis unavailable: connection refused");
  });

  it("fails start-up with a timeout when the server accepts but never answers", async () => {
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((s) => accepted.add(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    const started = performance.now();
    await expect(connectRedisCartStore(`redis://127.0.0.1:${port}`, { timeoutMs: 300 })).rejects.toBeInstanceOf(
      StoreTimeoutError,
    );
    expect(performance.now() - started).toBeLessThan(1500);
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});
