import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectApp, peerIdentityKey } from "@pos/common";
import { createTestCa, type TestCa, writePemFiles } from "@pos/common/testing";
import { GetItemDetailResponseSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClientTls } from "./client-tls.js";
import { createWireTransport, everyTransportConfig, type MasterDataTransportConfig } from "./transport.js";

// cart's client over TLS with a client certificate (mTLS), on every config transport.ts can build,
// against master-data requiring client certificates; and a rotated client certificate reaching the
// next connection.

let ca: TestCa;
let dir: string;
let files: Record<"ca.pem" | "cart.pem" | "cart-key.pem" | "other-ca.pem", string>;
let masterData: RunningMasterData;

beforeAll(async () => {
  ca = createTestCa();
  const server = ca.issue({ commonName: "master-data", usage: ["server"] });
  const cart = ca.issue({ commonName: "cart", usage: ["client"], uris: ["spiffe://pos.example/cart"] });
  dir = mkdtempSync(join(tmpdir(), "cart-tls-"));
  files = writePemFiles(dir, {
    "ca.pem": ca.cert,
    "cart.pem": cart.cert,
    "cart-key.pem": cart.key,
    "other-ca.pem": createTestCa("another CA").cert,
  });
  masterData = await startMasterData({
    tls: { cert: server.cert, key: server.key, ca: ca.cert, clientAuth: "require" },
  });
});
afterAll(async () => {
  await masterData?.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0003" };
const nameOf = (c: MasterDataTransportConfig) => `${c.protocol} ${c.format} HTTP/${c.httpVersion} (${c.client})`;

async function call(config: MasterDataTransportConfig, tls: Parameters<typeof createClientTls>[0]) {
  const clientTls = createClientTls(tls);
  const wire = createWireTransport(config, { tls: clientTls });
  try {
    return await createClient(ItemService, wire.transport).getItemDetail(request, { timeoutMs: 10_000 });
  } finally {
    wire.close();
    clientTls.close();
  }
}

describe("cart → master-data over TLS + mTLS", () => {
  const configs = () => everyTransportConfig(masterData.baseUrl);

  it("covers every transport config (20 today)", () => {
    expect(configs().length).toBeGreaterThanOrEqual(20);
    expect(configs().every((c) => c.url.startsWith("https://"))).toBe(true);
  });

  it.each(everyTransportConfig("https://placeholder").map((c) => [nameOf(c), c] as const))(
    "%s: verifies master-data against the CA and presents cart's certificate",
    async (_name, shape) => {
      const config = { ...shape, url: masterData.baseUrl };
      const reply = await call(config, {
        caFile: files["ca.pem"],
        certFile: files["cart.pem"],
        keyFile: files["cart-key.pem"],
      });
      expect(reply.item?.itemCode).toBe("ITEM0003");
      // Refused without the client certificate (master-data requires one) …
      const noCert = await call(config, { caFile: files["ca.pem"] }).catch((e: unknown) => ConnectError.from(e));
      expect(noCert).toBeInstanceOf(ConnectError);
      // … and when master-data's certificate does not chain to the CA cart trusts.
      const wrongCa = await call(config, {
        caFile: files["other-ca.pem"],
        certFile: files["cart.pem"],
        keyFile: files["cart-key.pem"],
      }).catch((e: unknown) => ConnectError.from(e));
      expect(wrongCa).toBeInstanceOf(ConnectError);
      // Whichever client kind: the reason names the certificate (e.g. SELF_SIGNED_CERT_IN_CHAIN).
      expect((wrongCa as ConnectError).message).toMatch(/CERT|certificate/i);
    },
  );
});

describe("client certificate reload", () => {
  let app: FastifyInstance;
  let baseUrl: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    const server = ca.issue({ commonName: "identity-echo", usage: ["server"] });
    app = await createConnectApp({
      serviceName: "identity-echo",
      routes: (router) =>
        router.service(ItemService, {
          getItemDetail: (_req, ctx) =>
            create(GetItemDetailResponseSchema, {
              item: { itemCode: ctx.values.get(peerIdentityKey)?.commonName ?? "" },
            }),
        }),
      logLevel: "silent",
      logRequests: false,
      readMaxBytes: 1 << 20,
      tls: { cert: server.cert, key: server.key, ca: ca.cert, clientAuth: "require" },
    });
    app.server.on("secureConnection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app?.close());

  const kinds = everyTransportConfig("https://placeholder").filter(
    (c) => c.protocol === "connect" && c.format === "binary",
  );

  it.each(kinds.map((c) => [`HTTP/${c.httpVersion} (${c.client})`, c] as const))(
    "%s: the next connection presents the rotated certificate",
    async (_name, shape) => {
      const own = mkdtempSync(join(tmpdir(), "cart-tls-rotate-"));
      const first = ca.issue({ commonName: "cart-1", usage: ["client"] });
      const paths = writePemFiles(own, { "cert.pem": first.cert, "key.pem": first.key });
      const clientTls = createClientTls(
        { caFile: files["ca.pem"], certFile: paths["cert.pem"], keyFile: paths["key.pem"] },
        { reloadIntervalMs: 50 },
      );
      const wire = createWireTransport({ ...shape, url: baseUrl }, { tls: clientTls });
      const client = createClient(ItemService, wire.transport);
      const seen = async () => {
        try {
          return (await client.getItemDetail(request, { timeoutMs: 5000 })).item?.itemCode;
        } catch (e) {
          return `error: ${ConnectError.from(e).message}`;
        }
      };
      try {
        expect(await seen()).toBe("cart-1");
        const second = ca.issue({ commonName: "cart-2", usage: ["client"] });
        writeFileSync(paths["key.pem"], second.key);
        writeFileSync(paths["cert.pem"], second.cert);
        // The connection in use keeps its certificate; once it is gone, the new one is presented.
        const deadline = Date.now() + 20_000;
        let last = await seen();
        while (last !== "cart-2") {
          if (Date.now() > deadline) throw new Error(`the rotated certificate was never presented; last: ${last}`);
          for (const socket of sockets) socket.destroy();
          await new Promise((r) => setTimeout(r, 50));
          last = await seen();
        }
      } finally {
        wire.close();
        clientTls.close();
        rmSync(own, { recursive: true, force: true });
      }
    },
  );
});
