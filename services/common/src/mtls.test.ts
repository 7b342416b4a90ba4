import https from "node:https";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GetItemDetailResponseSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnectApp } from "./connect-app.js";
import { createMetricsRegistry, httpVersionKey } from "./metrics.js";
import type { ClientAuth } from "./one-port-server.js";
import { peerIdentityKey } from "./peer-identity.js";
import { createTestCa, type TestCa, type TestLeaf } from "./testing/test-pki.js";

// mTLS on the one port, over real sockets: HTTP/1.1 and h2 chosen by ALPN, every protocol, both
// server paths (the unary fast path and connect-fastify). A verified client certificate's identity
// reaches the handler as a context value; what `require` refuses never reaches a handler.

let ca: TestCa;
let server: TestLeaf;
let client: TestLeaf;
let otherCaClient: TestLeaf;
let expiredClient: TestLeaf;

beforeAll(() => {
  ca = createTestCa();
  const otherCa = createTestCa("another CA");
  server = ca.issue({ commonName: "master-data", usage: ["server"] });
  client = ca.issue({
    commonName: "cart",
    usage: ["client"],
    uris: ["spiffe://pos.example/cart"],
    dns: ["cart.pos.internal"],
  });
  otherCaClient = otherCa.issue({ commonName: "cart", usage: ["client"], uris: ["spiffe://pos.example/cart"] });
  expiredClient = ca.issue({
    commonName: "cart",
    usage: ["client"],
    notBefore: new Date(Date.now() - 3 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
});

interface Seen {
  commonName?: string | undefined;
  uris?: readonly string[] | undefined;
  dnsNames?: readonly string[] | undefined;
  issuer?: string | undefined;
  http: string;
}

interface Started {
  app: FastifyInstance;
  baseUrl: string;
  port: number;
  /** Calls that reached the handler. */
  handled: () => number;
  metrics: Registry;
}

async function startServer(clientAuth: ClientAuth, unaryFastPath: boolean): Promise<Started> {
  let handled = 0;
  const metrics = createMetricsRegistry();
  const app = await createConnectApp({
    metrics,
    serviceName: "mtls-test",
    routes: (router) =>
      router.service(ItemService, {
        getItemDetail(_req, ctx) {
          handled++;
          const peer = ctx.values.get(peerIdentityKey);
          const seen: Seen = {
            commonName: peer?.commonName,
            uris: peer?.uris,
            dnsNames: peer?.dnsNames,
            issuer: peer?.issuer,
            http: ctx.values.get(httpVersionKey),
          };
          return create(GetItemDetailResponseSchema, { item: { description: JSON.stringify(seen) } });
        },
      }),
    logLevel: "silent",
    logRequests: false,
    readMaxBytes: 1 << 20,
    unaryFastPath,
    tls: { cert: server.cert, key: server.key, ca: ca.cert, clientAuth },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, baseUrl: `https://127.0.0.1:${port}`, handled: () => handled, metrics };
}

interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

const transports: [string, (baseUrl: string, t: ClientTls) => Transport][] = [
  ["Connect JSON / HTTP/1.1", (baseUrl, t) => createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: t })],
  [
    "Connect binary / HTTP/2",
    (baseUrl, t) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, nodeOptions: t }),
  ],
  [
    "Connect GET / HTTP/1.1",
    (baseUrl, t) => createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true, nodeOptions: t }),
  ],
  ["gRPC / HTTP/2", (baseUrl, t) => createGrpcTransport({ baseUrl, nodeOptions: t })],
  ["gRPC-Web / HTTP/1.1", (baseUrl, t) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: t })],
  ["gRPC-Web / HTTP/2", (baseUrl, t) => createGrpcWebTransport({ baseUrl, httpVersion: "2", nodeOptions: t })],
];

async function call(transport: Transport): Promise<Seen> {
  const res = await createClient(ItemService, transport).getItemDetail(
    { tenantId: "T1", storeCode: "S1", itemCode: "A" },
    { timeoutMs: 10_000 },
  );
  return JSON.parse(res.item?.description ?? "{}") as Seen;
}

const withCert = (leaf: TestLeaf): ClientTls => ({ ca: ca.cert, cert: leaf.cert, key: leaf.key });

describe.each([
  ["fast path", true],
  ["connect-fastify", false],
])("mTLS required (%s)", (_path, unaryFastPath) => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer("require", unaryFastPath);
  });
  afterAll(() => s?.app.close());

  it.each(transports)("%s: the handler sees the client certificate's identity", async (name, transport) => {
    const seen = await call(transport(s.baseUrl, withCert(client)));
    expect(seen).toEqual({
      commonName: "cart",
      uris: ["spiffe://pos.example/cart"],
      dnsNames: ["cart.pos.internal"],
      issuer: "pos-connect test CA",
      // ALPN chose what the client asked for.
      http: name.includes("HTTP/2") ? "2" : "1.1",
    });
  });

  const refused: [string, (t: ClientTls) => ClientTls][] = [
    ["no client certificate", () => ({ ca: ca.cert })],
    ["a certificate from another CA", () => withCert(otherCaClient)],
    ["an expired certificate", () => withCert(expiredClient)],
  ];

  it.each(refused)("refuses %s at the handshake, on HTTP/1.1 and h2, and counts it", async (_what, tlsOf) => {
    const before = s.handled();
    const failuresBefore = await handshakeFailures(s.metrics);
    for (const [, transport] of transports) {
      const err = await call(transport(s.baseUrl, tlsOf({ ca: ca.cert }))).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      // The code depends on how far the client got (reset, alert, GOAWAY); that it failed is the point.
      expect(err).toBeInstanceOf(ConnectError);
    }
    // Not even a plain route answers: the connection never carried a request.
    await expect(httpsGet(s.port, "/healthz", tlsOf({ ca: ca.cert }))).rejects.toThrow();
    expect(s.handled()).toBe(before);
    // One per refused connection at least (a client may retry), by OpenSSL's reason. The server may
    // hear of a reset after the client gave up: polled, not read once.
    const expected = sum(failuresBefore) + transports.length + 1;
    const deadline = Date.now() + 20_000;
    while (sum(await handshakeFailures(s.metrics)) < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sum(await handshakeFailures(s.metrics))).toBeGreaterThanOrEqual(expected);
  });

  it("names the refusal in the TLS alert the client gets, and in the metric's reason", async () => {
    const reason = await tlsAlert(s.port, { ca: ca.cert });
    expect(reason).toMatch(/certificate required|handshake failure|ECONNRESET/i);
    expect((await handshakeFailures(s.metrics)).ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE).toBeGreaterThan(0);
  });
});

describe("mTLS requested (TLS_CLIENT_AUTH=request)", () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer("request", true);
  });
  afterAll(() => s?.app.close());

  it.each(transports)("%s: a verified certificate gives an identity", async (_name, transport) => {
    expect((await call(transport(s.baseUrl, withCert(client)))).commonName).toBe("cart");
  });

  it.each([
    ["no certificate", (): ClientTls => ({ ca: ca.cert })],
    ["a certificate from another CA", (): ClientTls => withCert(otherCaClient)],
    ["an expired certificate", (): ClientTls => withCert(expiredClient)],
  ])("lets a client with %s in, without an identity", async (_what, tlsOf) => {
    for (const [, transport] of transports) {
      const seen = await call(transport(s.baseUrl, tlsOf()));
      expect(seen.commonName).toBeUndefined();
      expect(seen.uris).toBeUndefined();
    }
  });
});

describe("TLS without client certificates (the default)", () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer("none", true);
  });
  afterAll(() => s?.app.close());

  it.each(transports)("%s: serves, with no peer identity even when the client sends a certificate", async (_n, t) => {
    expect((await call(t(s.baseUrl, withCert(client)))).commonName).toBeUndefined();
  });
});

async function handshakeFailures(metrics: Registry): Promise<Record<string, number>> {
  const metric = await metrics.getSingleMetric("tls_handshake_failures_total")?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.reason), v.value]));
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function httpsGet(port: number, path: string, t: ClientTls): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path, agent: false, ...t }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
}

/** The error a bare TLS client (no certificate) gets: in TLS 1.3 the server's alert follows the client's handshake. */
function tlsAlert(port: number, t: ClientTls): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ...t, ALPNProtocols: ["http/1.1"] }, () => {
      socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    });
    socket.on("data", () => resolve("answered"));
    socket.on("error", (e: Error & { code?: string }) => resolve(`${e.code ?? ""} ${e.message}`));
    socket.on("close", () => resolve("closed"));
  });
}
