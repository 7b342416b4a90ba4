import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createCluster } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRedisCluster, startRedisCluster } from "../testing/redis-cluster.js";
import { richCart } from "./cart-fixture.js";
import { runCartStoreContract } from "./cart-store.contract.js";
import { cartRedisKey, connectRedisCartStore } from "./redis-cart-store.js";

// The same contract on a real 3-master Redis Cluster (local redis-server processes), chosen by the URL.
const run = promisify(execFile);
const keyPrefix = `test:${Math.random().toString(36).slice(2, 10)}:`;
let cluster: LocalRedisCluster;
let raw: ReturnType<typeof createCluster>;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  raw = createCluster({ rootNodes: cluster.ports.map((p) => ({ url: `redis://127.0.0.1:${p}` })) });
  raw.on("error", () => undefined);
  await raw.connect();
}, 60_000);

afterAll(async () => {
  await raw?.close();
  await cluster?.close();
});

runCartStoreContract("redis cluster", async (bounds) => ({
  store: await connectRedisCartStore(cluster.url, { ...bounds, timeoutMs: 2000, keyPrefix }),
  async expireIn(key, seconds) {
    await raw.expire(cartRedisKey(key, keyPrefix, true), seconds);
  },
}));

describe("redis cluster cart store", () => {
  it("hash-tags each cart's key and spreads carts over the masters", async () => {
    const store = await connectRedisCartStore(cluster.url, { timeoutMs: 2000, keyPrefix });
    try {
      const keys = Array.from({ length: 24 }, (_, i) => ({ tenantId: "T1", storeCode: "S001", cartId: `spread-${i}` }));
      for (const key of keys) await store.create(richCart(key));
      const key = keys[0]!;
      const redisKey = cartRedisKey(key, keyPrefix, true);
      expect(redisKey).toBe(`${keyPrefix}cart:{T1:S001:spread-0}`);
      const slot = async (k: string) =>
        (await run("redis-cli", ["-p", String(cluster.ports[0]), "cluster", "keyslot", k])).stdout.trim();
      expect(await slot(redisKey)).toBe(await slot("T1:S001:spread-0"));
      // Each master holds some of the carts (node-local SCAN).
      const perNode = await Promise.all(
        cluster.ports.map(async (p) => {
          const { stdout } = await run("redis-cli", [
            "-p",
            String(p),
            "--scan",
            "--pattern",
            `${keyPrefix}cart:{T1:S001:spread-*`,
          ]);
          return stdout.split("\n").filter((l) => l !== "").length;
        }),
      );
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(24);
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      expect(await store.get(key)).toEqual(richCart(key));
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
