import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMasterDataProcess } from "./cart-harness.js";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// GET /metrics of the two real processes after a sale: RPC histograms by service, method, protocol,
// HTTP version and code on both sides, cart's master-data client and business counters, process and
// event-loop metrics; and every metric of ours documented in the README.
const cartMain = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");

/** The value of one sample line `name{labels} value`, labels given in any order; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe("metrics: GET /metrics on both real processes", () => {
  let masterData: { proc: ServiceProcess; url: string };
  let cart: ServiceProcess;
  let cartUrl: string;
  let total: bigint;

  beforeAll(async () => {
    masterData = await startMasterDataProcess();
    cart = spawnService(cartMain, {
      CART_PORT: "0",
      MASTER_DATA_URL: masterData.url,
      MASTER_DATA_PROTOCOL: "grpc",
      MASTER_DATA_HTTP_VERSION: "2",
    });
    cartUrl = `http://127.0.0.1:${await cart.port(30_000)}`;
    const client = createClient(
      CartService,
      createConnectTransport({ baseUrl: cartUrl, httpVersion: "1.1", interceptors }),
    );
    const open = async () => {
      const { cart: c } = await client.createCart({
        tenantId: "T0001",
        storeCode: "S0001",
        terminalId: "R01",
        staffId: "S1",
      });
      return { tenantId: "T0001", storeCode: "S0001", cartId: c?.cartId ?? "" };
    };
    const sold = await open();
    await client.addLineItems({
      cart: sold,
      items: [
        { itemCode: "ITEM0001", quantity: 2 },
        { itemCode: "ITEM0002", quantity: 1 },
      ],
    });
    await client.addLineItems({ cart: sold, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    const { cart: subtotal } = await client.subtotal({ cart: sold });
    total = subtotal?.totalAmountWithTax?.amount ?? 0n;
    await client.addPayments({
      cart: sold,
      payments: [{ paymentCode: "01", amount: { amount: total, currencyCode: "JPY" } }],
    });
    await client.bill({ cart: sold });
    await client.bill({ cart: sold }); // a repeat: same answer, counted once
    const cancelled = await open();
    await client.cancelCart({ cart: cancelled });
    // An error over gRPC-Web straight to master-data, for the code label.
    await createClient(
      ItemService,
      createGrpcWebTransport({ baseUrl: masterData.url, httpVersion: "1.1", interceptors }),
    )
      .getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "NOPE" })
      .catch(() => undefined);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([cart?.stop("SIGKILL"), masterData?.proc.stop("SIGKILL")]);
  });

  const scrape = async (url: string) => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it("master-data: RPCs by service, method, protocol, HTTP version and code", async () => {
    const text = await scrape(masterData.url);
    const rpc = { rpc_service: "pos.masterdata.v1.ItemService" };
    expect(
      sample(text, "rpc_server_call_duration_seconds_count", {
        ...rpc,
        rpc_method: "BatchGetItemDetails",
        rpc_protocol: "grpc",
        http_version: "2",
        rpc_code: "ok",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, "rpc_server_call_duration_seconds_count", {
        ...rpc,
        rpc_method: "GetItemDetail",
        rpc_protocol: "grpc-web",
        http_version: "1.1",
        rpc_code: "not_found",
      }),
    ).toBe(1);
    expect(text).toMatch(/^rpc_server_call_duration_seconds_bucket\{.*le="0\.005".*\} \d+$/m);
    expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0);
  });

  it("cart: its own RPCs, its master-data calls by transport, breaker, cache, and sales counted once", async () => {
    const text = await scrape(cartUrl);
    const bill = { rpc_service: "pos.cart.v1.CartService", rpc_method: "Bill", rpc_protocol: "connect" };
    expect(
      sample(text, "rpc_server_call_duration_seconds_count", { ...bill, http_version: "1.1", rpc_code: "ok" }),
    ).toBe(2);
    const onWire = { rpc_protocol: "grpc", http_version: "2", rpc_code: "ok" };
    expect(
      sample(text, "rpc_client_call_duration_seconds_count", { ...onWire, rpc_method: "BatchGetItemDetails" }),
    ).toBe(1);
    expect(sample(text, "rpc_client_call_duration_seconds_count", { ...onWire, rpc_method: "ListTaxes" })).toBe(1);
    const transport = { protocol: "grpc", http_version: "2", format: "binary" };
    // One lookup of two items, one tax list: everything else came from the cache.
    expect(sample(text, "pos_cart_master_data_calls_total", transport)).toBe(2);
    expect(sample(text, "pos_cart_master_data_retries_total", transport)).toBe(0);
    // One cart call at a time: no call was shared with another's codes.
    expect(sample(text, "pos_cart_master_data_batched_total", transport)).toBe(0);
    // ITEM0001 the second time, and the tax list after the first cart, come from the cache.
    expect(sample(text, "pos_cart_master_data_cache_hits_total", transport)).toBeGreaterThanOrEqual(2);
    expect(sample(text, "pos_cart_master_data_cache_misses_total", transport)).toBeGreaterThanOrEqual(3);
    expect(sample(text, "pos_cart_master_data_retry_budget_tokens", transport)).toBeGreaterThan(0);
    expect(sample(text, "circuit_breaker_state", { name: "master-data", state: "closed" })).toBe(1);
    expect(sample(text, "circuit_breaker_state", { name: "master-data", state: "open" })).toBe(0);
    expect(sample(text, "pos_cart_sales_total", { currency: "JPY" })).toBe(1);
    expect(sample(text, "pos_cart_sale_lines_total", { currency: "JPY" })).toBe(3);
    expect(sample(text, "pos_cart_sales_amount_minor_units_total", { currency: "JPY" })).toBe(Number(total));
    expect(sample(text, "pos_cart_cancels_total", { currency: "JPY" })).toBe(1);
    // In-memory stores: the sale and the cancel were recorded at once, nothing waits; the store's bound is shown.
    expect(sample(text, "pos_cart_outbox_pending_records")).toBe(0);
    expect(sample(text, "pos_cart_memory_store_carts")).toBeGreaterThanOrEqual(2);
    expect(sample(text, "pos_cart_memory_store_max_carts")).toBe(100_000);
    expect(sample(text, "pos_cart_memory_store_evictions_total")).toBe(0);
  });

  it("every metric of ours is documented in the README", async () => {
    const names = new Set<string>();
    for (const text of [await scrape(masterData.url), await scrape(cartUrl)]) {
      for (const m of text.matchAll(/^# HELP (\S+) /gm)) names.add(m[1]!);
    }
    // prom-client's own process_* and nodejs_* metrics are documented as families.
    const ours = [...names].filter((n) => !n.startsWith("process_") && !n.startsWith("nodejs_"));
    expect(ours.length).toBeGreaterThanOrEqual(12);
    for (const name of ours) expect(readme, name).toContain(`\`${name}\``);
  });
});

describe("metrics off", () => {
  it("METRICS=false serves no /metrics", async () => {
    const md = spawnService(masterDataMain, {
      MASTER_DATA_PORT: "0",
      METRICS: "false",
    });
    try {
      const res = await fetch(`http://127.0.0.1:${await md.port(30_000)}/metrics`);
      expect(res.status).toBe(404);
    } finally {
      await md.stop("SIGKILL");
    }
  });
});
