import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GetItemDetailResponseSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnectApp } from "./connect-app.js";
import { requestLogKey } from "./request-log.js";
import { testAuth } from "./testing/auth.js";

// The README's promise: every response carries an `x-request-id`, the caller's own when it sent a
// plain one, and the server's logs name it. Checked over a real socket, on every protocol.

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  app = await createConnectApp({
    serviceName: "request-id-test",
    routes: (router) =>
      router.service(ItemService, {
        getItemDetail(req, ctx) {
          if (req.itemCode === "BUG") throw new Error("a bug");
          // The id the handler's logger is bound to, sent back to compare with the header.
          return create(GetItemDetailResponseSchema, {
            item: { itemCode: ctx.values.get(requestLogKey).requestId },
          });
        },
      }),
    logLevel: "silent",
    logRequests: false,
    readMaxBytes: 1 << 20,
    // Request ids are the subject here; auth has its own suites.
    auth: await testAuth.openFor(ItemService),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app?.close());

const transports: [string, () => Transport][] = [
  ["Connect JSON / HTTP/1.1", () => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect binary / HTTP/2", () => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
  ["Connect GET / HTTP/1.1", () => createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true })],
  ["gRPC / HTTP/2", () => createGrpcTransport({ baseUrl })],
  ["gRPC-Web / HTTP/1.1", () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
];

/** The x-request-id the response carried and the id the handler's logger had (or the error's text). */
async function callWith(transport: Transport, sent: string | undefined, itemCode = "A") {
  let header: string | null = null;
  const client = createClient(ItemService, transport);
  const options = {
    headers: new Headers(sent === undefined ? [] : [["x-request-id", sent]]),
    onHeader: (h: Headers) => {
      header = h.get("x-request-id");
    },
    onTrailer: (t: Headers) => {
      header ??= t.get("x-request-id");
    },
  };
  try {
    const res = await client.getItemDetail({ tenantId: "T1", storeCode: "S1", itemCode }, options);
    return { header, seen: res.item?.itemCode };
  } catch (e) {
    const err = ConnectError.from(e);
    // A failed call hands its response headers and trailers over as the error's metadata.
    return { header: header ?? err.metadata.get("x-request-id"), seen: err.rawMessage, code: err.code };
  }
}

describe.each(transports)("x-request-id over %s", (_name, transport) => {
  it("echoes a plain id the caller sent, and the handler's log is bound to it", async () => {
    expect(await callWith(transport(), "pos-R01:0042.a_b")).toEqual({
      header: "pos-R01:0042.a_b",
      seen: "pos-R01:0042.a_b",
    });
  });

  it("replaces an id that is not a plain token with a fresh one", async () => {
    for (const bad of ["has space", "x".repeat(129), "<script>", "ünïcode"]) {
      const { header, seen } = await callWith(transport(), bad);
      expect(header, bad).toMatch(uuid);
      expect(seen, bad).toBe(header);
    }
  });

  it("generates a fresh id per request when none is sent", async () => {
    const first = await callWith(transport(), undefined);
    const second = await callWith(transport(), undefined);
    expect(first.header).toMatch(uuid);
    expect(second.header).toMatch(uuid);
    expect(first.header).not.toBe(second.header);
    expect(first.seen).toBe(first.header);
  });

  it("names the id in an internal error, so a support call can find the log line", async () => {
    const { header, seen, code } = await callWith(transport(), "ticket-7", "BUG");
    expect(code).toBe(Code.Internal);
    expect(seen).toBe("internal error (request id ticket-7)");
    expect(header).toBe("ticket-7");
  });
});

describe("x-request-id on plain HTTP routes", () => {
  it("is on /healthz too", async () => {
    const given = await fetch(`${baseUrl}/healthz`, { headers: { "x-request-id": "probe-1" } });
    expect(given.headers.get("x-request-id")).toBe("probe-1");
    const fresh = await fetch(`${baseUrl}/healthz`);
    expect(fresh.headers.get("x-request-id")).toMatch(uuid);
  });
});
