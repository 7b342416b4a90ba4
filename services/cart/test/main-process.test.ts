import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ServingStatus } from "@pos/common";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { Health } from "@pos/gen/health/v1/health_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { afterEach, describe, expect, it } from "vitest";
import { startMasterDataProcess } from "./cart-harness.js";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// The real cart entry point: the transport switch, its one log line, config errors.
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const running: ServiceProcess[] = [];
const start = (env: Record<string, string>) => {
  const p = spawnService(main, { CART_PORT: "0", ...env });
  running.push(p);
  return p;
};

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop("SIGKILL")));
});

describe("cart process (src/main.ts)", () => {
  it("starts on the embedded stores, logs the master-data transport once, serves a sale step, stops on SIGTERM", async () => {
    const masterData = await startMasterDataProcess();
    running.push(masterData.proc);
    const p = start({
      MASTER_DATA_URL: masterData.url,
      MASTER_DATA_PROTOCOL: "grpc-web",
      MASTER_DATA_HTTP_VERSION: "1.1",
      MASTER_DATA_FORMAT: "json",
      MASTER_DATA_CLIENT: "connect-node",
    });
    const port = await p.port();
    const client = createClient(
      CartService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1", interceptors }),
    );
    const { cart } = await client.createCart({
      tenantId: "T0001",
      storeCode: "S0001",
      terminalId: "R01",
      staffId: "S1",
    });
    const { cart: added } = await client.addLineItems({
      cart: { tenantId: "T0001", storeCode: "S0001", cartId: cart!.cartId },
      items: [{ itemCode: "ITEM0042", quantity: 2 }],
    });
    expect(added?.lines[0]?.itemCode).toBe("ITEM0042");
    // What operators read: plain JSON of what cart saw of master-data.
    const stats = await fetch(`http://127.0.0.1:${port}/stats/master-data`);
    expect(stats.status).toBe(200);
    const seen = (await stats.json()) as { calls: number; breaker: string; latency: { count: number } };
    expect(seen).toMatchObject({ breaker: "closed" });
    expect(seen.calls).toBeGreaterThan(0);
    expect(seen.latency.count).toBeGreaterThanOrEqual(seen.calls);
    const mentions = p.output().match(/grpc-web over HTTP\/1\.1 \(json, connect-node client\)/g) ?? [];
    expect(mentions.length).toBeGreaterThanOrEqual(1);
    expect(p.output().match(/cart dependencies ready/g)).toHaveLength(1);
    // Ready (its stores answer), and health says so for the server and for CartService.
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toEqual({ status: "SERVING", service: "cart", failing: [] });
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    expect((await health.check({ service: "pos.cart.v1.CartService" })).status).toBe(ServingStatus.SERVING);
    expect(await p.stop()).toBe(0);
  }, 60_000);

  it("refuses an impossible transport and other bad values with one message", async () => {
    const p = start({
      MASTER_DATA_PROTOCOL: "grpc",
      MASTER_DATA_HTTP_VERSION: "1.1",
      CART_TTL_SECONDS: "-1",
      REDIS_URL: "http://x",
    });
    expect(await p.exited).toBe(1);
    const out = p.output();
    expect(out).toMatch(/grpc.*HTTP\/1\.1/);
    expect(out).toContain("CART_TTL_SECONDS must be a whole number");
    expect(out).toContain(
      'REDIS_URL must start with redis://, rediss://, redis-cluster:// or rediss-cluster://, got "http://x"',
    );
    expect(out).not.toMatch(/\n\s+at /);
  });

  it("fails fast with a clear message when Redis cannot be reached", async () => {
    const p = start({ REDIS_URL: "redis://127.0.0.1:1", REDIS_TIMEOUT_MS: "300" });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/Redis unavailable/);
  });
});
