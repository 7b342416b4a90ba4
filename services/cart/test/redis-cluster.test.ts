import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRedisCluster, startRedisCluster } from "../src/testing/redis-cluster.js";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// Cart is stateless across replicas: two cart processes on one Redis Cluster share every cart.
const cartMain = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const processes: ServiceProcess[] = [];
let cluster: LocalRedisCluster;
let urls: string[];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const md = spawnService(masterDataMain, { MASTER_DATA_PORT: "0" });
  processes.push(md);
  const masterDataUrl = `http://127.0.0.1:${await md.port(30_000)}`;
  const carts = [0, 1].map(() =>
    spawnService(cartMain, { CART_PORT: "0", MASTER_DATA_URL: masterDataUrl, REDIS_URL: cluster.url }),
  );
  processes.push(...carts);
  urls = await Promise.all(carts.map(async (c) => `http://127.0.0.1:${await c.port(30_000)}`));
}, 90_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop("SIGKILL")));
  await cluster?.close();
});

describe("two cart processes on a 3-master Redis Cluster", () => {
  it("100 concurrent AddLineItems spread over both processes → 100 lines", async () => {
    const clients = urls.map((baseUrl) =>
      createClient(CartService, createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors })),
    );
    const [a, b] = clients as [(typeof clients)[0], (typeof clients)[0]];
    const { cart } = await a.createCart({ tenantId: "T0001", storeCode: "S0001", terminalId: "R01", staffId: "S1" });
    const ref = { tenantId: "T0001", storeCode: "S0001", cartId: cart!.cartId };
    const codes = Array.from({ length: 100 }, (_, i) => `ITEM${String(i + 100).padStart(4, "0")}`);
    const started = performance.now();
    await Promise.all(
      codes.map((itemCode, i) => (i % 2 === 0 ? a : b).addLineItems({ cart: ref, items: [{ itemCode, quantity: 1 }] })),
    );
    const ms = performance.now() - started;
    const fromB = (await b.getCart({ cart: ref })).cart!;
    const fromA = (await a.getCart({ cart: ref })).cart!;
    expect(fromB.lines).toHaveLength(100);
    expect(fromB.lines.map((l) => l.lineNo)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(new Set(fromB.lines.map((l) => l.itemCode))).toEqual(new Set(codes));
    expect(fromA).toEqual(fromB);
    console.log(`100 concurrent AddLineItems over 2 cart processes on a 3-master Redis Cluster: ${ms.toFixed(0)} ms`);
  }, 60_000);
});
