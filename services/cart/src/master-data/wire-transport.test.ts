import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { errorOf } from "@pos/common/testing";
import { type Item, ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { GetItemDetailResponseSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clientKinds, createWireTransport, type MasterDataTransportConfig } from "./transport.js";

// What the protocol alone must do, with no resilience on top, for every wire and both clients
// (ours and connect-node's, which must agree): headers and trailers, errors with details,
// deadlines, cancellation, large messages, refused compression, and network failures as
// `unavailable`. Real sockets: a connect-node server (HTTP/1.1 and h2c) and raw misbehaving ones.

type Wire = Omit<MasterDataTransportConfig, "url">;
const wires: Wire[] = clientKinds.flatMap((client) =>
  (
    [
      { protocol: "connect", httpVersion: "1.1", format: "json" },
      { protocol: "connect", httpVersion: "1.1", format: "binary" },
      { protocol: "connect", httpVersion: "2", format: "binary" },
      { protocol: "grpc", httpVersion: "2", format: "binary" },
      { protocol: "grpc", httpVersion: "2", format: "json" },
      { protocol: "grpc-web", httpVersion: "1.1", format: "binary" },
      { protocol: "grpc-web", httpVersion: "2", format: "json" },
    ] as const
  ).map((w) => ({ ...w, client })),
);

const bigSize = 6 * 1024 * 1024;
/** What the test service saw of the slow calls: the timeout header and why its signal fired. */
const seenSlow: { timeout: string | null; aborted: Promise<string> }[] = [];

function header(ctx: HandlerContext, name: string): string | null {
  return ctx.requestHeader.get(name);
}

/** ItemService.GetItemDetail whose behaviour the item code picks. */
const routes = connectNodeAdapter({
  routes: (router) =>
    router.service(ItemService, {
      async getItemDetail(req, ctx) {
        switch (req.itemCode) {
          case "FAIL":
            ctx.responseHeader.set("x-error-header", "h");
            throw new ConnectError("the item is sealed", Code.FailedPrecondition, { "x-error-meta": "m" }, [
              { desc: ItemSchema, value: { itemCode: "DETAIL", description: "why" } },
            ]);
          case "SLOW":
            seenSlow.push({
              timeout: header(ctx, "grpc-timeout") ?? header(ctx, "connect-timeout-ms"),
              aborted: new Promise((resolve) =>
                ctx.signal.addEventListener("abort", () => resolve(String(ConnectError.from(ctx.signal.reason).code))),
              ),
            });
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
            throw new ConnectError("gave up", Code.Canceled);
          case "BIG":
            return { item: { itemCode: "BIG", description: "x".repeat(bigSize) } };
          default:
            ctx.responseHeader.set("x-answer", "42");
            ctx.responseTrailer.set("x-trailer", "done");
            return {
              item: {
                itemCode: req.itemCode,
                description: `len ${req.itemCode.length}`,
                storeCode: header(ctx, "x-asked") ?? "",
              },
            };
        }
      },
    }),
  readMaxBytes: 32 * 1024 * 1024,
});

async function listen(server: http.Server | http2.Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const t of opened.splice(0)) t.close();
});
function clientFor(url: string, wire: Wire, readMaxBytes?: number) {
  const t = createWireTransport({ url, ...wire }, { connection: readMaxBytes === undefined ? {} : { readMaxBytes } });
  opened.push(t);
  return createClient(ItemService, t.transport);
}

describe("wire transports against a connect-node server", () => {
  const h1 = http.createServer(routes);
  const h2 = http2.createServer(routes);
  let urls: Record<"1.1" | "2", string>;
  beforeAll(async () => {
    urls = { "1.1": await listen(h1), "2": await listen(h2) };
  });
  afterAll(async () => {
    h1.closeAllConnections();
    await new Promise((r) => h1.close(r));
    await new Promise((r) => h2.close(r));
  });

  describe.each(wires)("$protocol over HTTP/$httpVersion ($format), $client client", (wire) => {
    const base = { tenantId: "T1", storeCode: "S1" };

    it("sends request headers, answers the message, response headers and trailers", async () => {
      const client = clientFor(urls[wire.httpVersion], wire);
      let headers: Headers | undefined;
      let trailers: Headers | undefined;
      const res = await client.getItemDetail(
        { ...base, itemCode: "ITEM1" },
        { headers: { "x-asked": "yes" }, onHeader: (h) => (headers = h), onTrailer: (t) => (trailers = t) },
      );
      expect(res.item).toMatchObject({ itemCode: "ITEM1", description: "len 5", storeCode: "yes" });
      expect(headers?.get("x-answer")).toBe("42");
      expect(trailers?.get("x-trailer")).toBe("done");
      // Connect carries unary trailers as "trailer-" headers: they belong in the trailer only.
      expect(headers?.get("trailer-x-trailer") ?? null).toBeNull();
    });

    it("passes an error's code, message, metadata and details", async () => {
      const client = clientFor(urls[wire.httpVersion], wire);
      const err = await errorOf(client.getItemDetail({ ...base, itemCode: "FAIL" }));
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.rawMessage).toBe("the item is sealed");
      expect(err.metadata.get("x-error-meta")).toBe("m");
      expect(err.metadata.get("x-error-header")).toBe("h");
      const details = err.findDetails(ItemSchema) as Item[];
      expect(details.map((d) => [d.itemCode, d.description])).toEqual([["DETAIL", "why"]]);
    });

    it("sends the deadline, and fails with deadline_exceeded when it passes", async () => {
      const client = clientFor(urls[wire.httpVersion], wire);
      seenSlow.length = 0;
      const err = await errorOf(client.getItemDetail({ ...base, itemCode: "SLOW" }, { timeoutMs: 150 }));
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(seenSlow).toHaveLength(1);
      expect(seenSlow[0]?.timeout).toMatch(/^(150|149)m?$/);
      // The server learns it too (from its own timer or from our reset), so it stops working on it.
      await expect(seenSlow[0]?.aborted).resolves.toMatch(/^\d+$/);
    });

    it("cancels on the caller's signal and the server sees the call go", async () => {
      const client = clientFor(urls[wire.httpVersion], wire);
      seenSlow.length = 0;
      const ac = new AbortController();
      const pending = client.getItemDetail({ ...base, itemCode: "SLOW" }, { signal: ac.signal });
      await expect.poll(() => seenSlow.length, { timeout: 5_000, interval: 5 }).toBe(1);
      ac.abort();
      expect((await errorOf(pending)).code).toBe(Code.Canceled);
      await expect(seenSlow[0]?.aborted).resolves.toMatch(/^\d+$/);
    });

    it("carries messages of several megabytes both ways, and refuses one over readMaxBytes", async () => {
      const client = clientFor(urls[wire.httpVersion], wire);
      const code = "c".repeat(3 * 1024 * 1024);
      const echoed = await client.getItemDetail({ ...base, itemCode: code });
      expect(echoed.item?.description).toBe(`len ${code.length}`);
      const big = await client.getItemDetail({ ...base, itemCode: "BIG" });
      expect(big.item?.description).toHaveLength(bigSize);

      const small = clientFor(urls[wire.httpVersion], wire, 1024 * 1024);
      const err = await errorOf(small.getItemDetail({ ...base, itemCode: "BIG" }));
      expect(err.code).toBe(Code.ResourceExhausted);
    });
  });
});

describe("wire transports when the peer misbehaves or is gone", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });
  const item = toBinary(GetItemDetailResponseSchema, create(GetItemDetailResponseSchema, { item: { itemCode: "Z" } }));
  const envelope = (flags: number, data: Uint8Array) => {
    const out = Buffer.alloc(5 + data.length);
    out[0] = flags;
    out.writeUInt32BE(data.length, 1);
    out.set(data, 5);
    return out;
  };

  /** An HTTP/1.1 and an h2c server with the same raw handler. */
  async function rawServers(
    handler: (
      req: http.IncomingMessage | http2.Http2ServerRequest,
      res: http.ServerResponse | http2.Http2ServerResponse,
    ) => void,
  ): Promise<Record<"1.1" | "2", string>> {
    const h1 = http.createServer(handler);
    const h2 = http2.createServer(handler);
    closers.push(
      async () => {
        h1.closeAllConnections();
        await new Promise((r) => h1.close(r));
      },
      () => new Promise((r) => h2.close(r)),
    );
    return { "1.1": await listen(h1), "2": await listen(h2) };
  }

  // connect-node answers these with other codes (a dropped connection as aborted, canceled or
  // internal; a compressed answer as invalid_argument), which is why cart's default is ours.
  describe.each(["fast"] as const)("%s client", (client) => {
    it.each([
      { protocol: "connect", httpVersion: "1.1" },
      { protocol: "connect", httpVersion: "2" },
      { protocol: "grpc", httpVersion: "2" },
      { protocol: "grpc-web", httpVersion: "1.1" },
    ] as const)("refuses a compressed answer it never asked for ($protocol over HTTP/$httpVersion)", async (w) => {
      const urls = await rawServers((req, res) => {
        req.resume();
        req.on("end", () => {
          if (w.protocol === "connect") {
            (res as http.ServerResponse).writeHead(200, {
              "content-type": "application/proto",
              "content-encoding": "gzip",
            });
            res.end(Buffer.from(item));
          } else if (w.protocol === "grpc") {
            const h2res = res as http2.Http2ServerResponse;
            h2res.writeHead(200, { "content-type": "application/grpc", "grpc-encoding": "gzip" });
            h2res.addTrailers({ "grpc-status": "0" });
            h2res.end(envelope(1, item));
          } else {
            (res as http.ServerResponse).writeHead(200, {
              "content-type": "application/grpc-web+proto",
              "grpc-encoding": "gzip",
            });
            res.end(Buffer.concat([envelope(1, item), envelope(0x80, Buffer.from("grpc-status: 0\r\n"))]));
          }
        });
      });
      const c = clientFor(urls[w.httpVersion], { ...w, format: "binary", client });
      const err = await errorOf(c.getItemDetail({ itemCode: "A" }));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toMatch(/encoding|compress/);
    });

    it.each([
      { protocol: "connect", httpVersion: "1.1" },
      { protocol: "connect", httpVersion: "2" },
      { protocol: "grpc", httpVersion: "2" },
      { protocol: "grpc-web", httpVersion: "1.1" },
    ] as const)("maps a connection refused to unavailable ($protocol over HTTP/$httpVersion)", async (w) => {
      const server = http.createServer();
      const url = await listen(server);
      await new Promise((r) => server.close(r));
      const c = clientFor(url, { ...w, format: "binary", client });
      const err = await errorOf(c.getItemDetail({ itemCode: "A" }));
      expect(err.code).toBe(Code.Unavailable);
    });

    it.each([
      { protocol: "connect", httpVersion: "1.1" },
      { protocol: "connect", httpVersion: "2" },
      { protocol: "grpc", httpVersion: "2" },
      { protocol: "grpc-web", httpVersion: "1.1" },
    ] as const)("maps a connection dropped mid-answer to unavailable ($protocol over HTTP/$httpVersion)", async (w) => {
      const urls = await rawServers((req, res) => {
        req.resume();
        req.on("end", () => {
          const type =
            w.protocol === "connect"
              ? "application/proto"
              : w.protocol === "grpc"
                ? "application/grpc"
                : "application/grpc-web+proto";
          (res as http.ServerResponse).writeHead(200, { "content-type": type, "content-length": "1000" });
          (res as http.ServerResponse).write(Buffer.alloc(10));
          setImmediate(() => {
            if ("stream" in req) req.stream.session?.destroy();
            else req.socket.destroy();
          });
        });
      });
      const c = clientFor(urls[w.httpVersion], { ...w, format: "binary", client });
      const err = await errorOf(c.getItemDetail({ itemCode: "A" }));
      expect(err.code).toBe(Code.Unavailable);
    });
  });
});
