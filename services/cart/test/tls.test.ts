import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createTestCa, type ServiceProcess, spawnService, writePemFiles } from "@pos/common/testing";
import { CartSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyTransportConfig, type MasterDataTransportConfig } from "../src/master-data/transport.js";
import { cartMain } from "../src/testing/index.js";
import { startCart } from "./cart-harness.js";

// The whole cart → master-data path over TLS with client certificates both ways: the real
// master-data process requiring mTLS, cart (in this process, then as its own process) calling it on
// every transport config with its own certificate, and cart's own port requiring one too.

type Files = Record<
  "ca.pem" | "server.pem" | "server-key.pem" | "cart.pem" | "cart-key.pem" | "client.pem" | "client-key.pem",
  string
>;
let dir: string;
let files: Files;
let masterData: ServiceProcess;
let masterDataUrl: string;

beforeAll(async () => {
  const ca = createTestCa();
  const server = ca.issue({ commonName: "localhost", usage: ["server"] });
  const cart = ca.issue({ commonName: "cart", usage: ["client"], uris: ["spiffe://pos.example/cart"] });
  const client = ca.issue({ commonName: "terminal", usage: ["client"] });
  dir = mkdtempSync(join(tmpdir(), "cart-mtls-"));
  files = writePemFiles(dir, {
    "ca.pem": ca.cert,
    "server.pem": server.cert,
    "server-key.pem": server.key,
    "cart.pem": cart.cert,
    "cart-key.pem": cart.key,
    "client.pem": client.cert,
    "client-key.pem": client.key,
  });
  masterData = spawnService(masterDataMain, {
    MASTER_DATA_PORT: "0",
    LOG_LEVEL: "info",
    TLS_CERT_FILE: files["server.pem"],
    TLS_KEY_FILE: files["server-key.pem"],
    TLS_CLIENT_CA_FILE: files["ca.pem"],
  });
  masterDataUrl = `https://127.0.0.1:${await masterData.port(30_000)}`;
}, 60_000);
afterAll(async () => {
  await masterData?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const scope = { tenantId: "T0001", storeCode: "S0001" };
const nameOf = (c: MasterDataTransportConfig) => `${c.protocol} ${c.format} HTTP/${c.httpVersion} (${c.client})`;

/** A cart with lines and its subtotal: ListTaxes and BatchGetItemDetails went to master-data. */
async function sale(client: ReturnType<typeof createClient<typeof CartService>>) {
  const created = await client.createCart({ ...scope, terminalId: "R01", staffId: "STAFF1" });
  const ref = { ...scope, cartId: created.cart?.cartId ?? "" };
  await client.addLineItems({
    cart: ref,
    items: [
      { itemCode: "ITEM0000", quantity: 2 },
      { itemCode: "ITEM0003", quantity: 1 },
      { itemCode: "ITEM0004", quantity: 3 },
    ],
  });
  const cart = (await client.subtotal({ cart: ref })).cart;
  const json = toJson(CartSchema, cart!) as Record<string, unknown>;
  for (const key of ["cartId", "createdAt", "updatedAt"]) delete json[key];
  return json;
}

describe("cart → master-data over TLS + mTLS, every transport config", () => {
  const carts: unknown[] = [];

  it.each(everyTransportConfig("https://placeholder").map((c) => [nameOf(c), c] as const))(
    "%s: a sale with master-data requiring cart's certificate",
    async (_name, shape) => {
      const cart = await startCart(
        { ...shape, url: masterDataUrl },
        {
          tls: { caFile: files["ca.pem"], certFile: files["cart.pem"], keyFile: files["cart-key.pem"] },
          redisUrl: undefined,
          mongodbUri: undefined,
        },
      );
      try {
        const result = await sale(cart.client);
        expect(result.status).toBe("CART_STATUS_PAYING");
        carts.push(result);
      } finally {
        await cart.close();
      }
    },
  );

  it("gives the same cart on every transport", () => {
    expect(carts.length).toBe(everyTransportConfig(masterDataUrl).length);
    for (const cart of carts) expect(cart).toEqual(carts[0]);
  });

  it("cannot add an item without its client certificate: master-data refuses the handshake", async () => {
    const cart = await startCart(
      { url: masterDataUrl, protocol: "grpc", httpVersion: "2", format: "binary" },
      { tls: { caFile: files["ca.pem"] }, redisUrl: undefined, mongodbUri: undefined, retryAttempts: 1 },
    );
    try {
      const err = await sale(cart.client).catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).message).toMatch(/master-data unavailable/);
    } finally {
      await cart.close();
    }
  });
});

describe("the real cart process: mTLS on its own port and towards master-data", () => {
  let cart: ServiceProcess;
  let cartUrl: string;
  beforeAll(async () => {
    cart = spawnService(cartMain, {
      CART_PORT: "0",
      LOG_LEVEL: "info",
      TLS_CERT_FILE: files["server.pem"],
      TLS_KEY_FILE: files["server-key.pem"],
      TLS_CLIENT_CA_FILE: files["ca.pem"],
      MASTER_DATA_URL: masterDataUrl,
      MASTER_DATA_CA_FILE: files["ca.pem"],
      MASTER_DATA_CLIENT_CERT_FILE: files["cart.pem"],
      MASTER_DATA_CLIENT_KEY_FILE: files["cart-key.pem"],
    });
    cartUrl = `https://127.0.0.1:${await cart.port(30_000)}`;
  }, 60_000);
  afterAll(() => cart?.stop());

  const clientOf = (nodeOptions: { ca: string; cert?: string; key?: string }) =>
    createClient(CartService, createGrpcTransport({ baseUrl: cartUrl, nodeOptions }));

  it("sells with a terminal's certificate, and logs the TLS it uses towards master-data", async () => {
    const read = (name: keyof Files) => readFileSync(files[name], "utf8");
    const result = await sale(clientOf({ ca: read("ca.pem"), cert: read("client.pem"), key: read("client-key.pem") }));
    expect(result.status).toBe("CART_STATUS_PAYING");
    expect(cart.output()).toMatch(/master-data via grpc over HTTP\/2 .* to https:\/\/127\.0\.0\.1:\d+, TLS \(CA /);
  });

  it("refuses a terminal without a certificate at the handshake", async () => {
    const err = await sale(clientOf({ ca: readFileSync(files["ca.pem"], "utf8") })).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
  });
});
