import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  GetItemDetailRequestSchema,
  GetItemDetailResponseSchema,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createConnectApp, type SeenRequest } from "./connect-app.js";
import { testAuth } from "./testing/auth.js";

// Unary calls over HTTP/2 are served from the stream itself (no request/response pair per call):
// headers, trailers and grpc-status, deadlines and clients that reset a stream mid-call, and the
// streams the fast path declines, which must still reach fastify and connect-es. The same checks
// run against connect-es alone (UNARY_FAST_PATH=false), which is what the fast path must match.

const path = "/pos.masterdata.v1.ItemService/GetItemDetail";

interface Waiter {
  entered: Promise<void>;
  /** The reason the call's signal was aborted with. */
  aborted: Promise<unknown>;
}

function frame(payload: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const request = (itemCode: string) =>
  Buffer.from(toBinary(GetItemDetailRequestSchema, create(GetItemDetailRequestSchema, { itemCode })));

interface Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function call(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    stream.end(body);
  });
}

const grpcHeaders = { "content-type": "application/grpc+proto", te: "trailers" };

describe.each([
  ["the unary fast path", true],
  ["connect-es alone", false],
])("unary calls over HTTP/2 streams: %s", (_name, unaryFastPath) => {
  let app: FastifyInstance;
  let origin: string;
  const seen: SeenRequest[] = [];
  const waiters: { entered: () => void; aborted: (reason: unknown) => void }[] = [];
  const sessions: http2.ClientHttp2Session[] = [];

  beforeAll(async () => {
    app = await createConnectApp({
      serviceName: "h2-streams-test",
      // The streams are the subject here; auth has its own suites.
      auth: await testAuth.openFor(ItemService),
      unaryFastPath,
      observeRequest: (req) => seen.push(req),
      routes: (router) =>
        router.service(ItemService, {
          async getItemDetail(req, ctx) {
            if (req.itemCode === "MISSING") throw new ConnectError("no such item", Code.NotFound);
            if (req.itemCode === "WAIT") {
              // Waits for its signal (deadline or client gone), as a handler calling a store would.
              const hooks = waiters.shift();
              hooks?.entered();
              const signal = ctx.signal;
              const reason = signal.aborted
                ? signal.reason
                : await new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));
              hooks?.aborted(reason);
              throw reason;
            }
            ctx.responseTrailer.set("x-trailer", "t1");
            ctx.responseHeader.set("x-header", "h1");
            return create(GetItemDetailResponseSchema, { item: { itemCode: req.itemCode } });
          },
        }),
      logLevel: "silent",
      logRequests: false,
      readMaxBytes: 1 << 20,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.destroy();
  });
  afterAll(() => app?.close());

  function connect(): http2.ClientHttp2Session {
    const session = http2.connect(origin);
    session.on("error", () => {});
    sessions.push(session);
    return session;
  }

  /** Registers the next WAIT call: resolves `entered` when the handler runs, `aborted` with its signal's reason. */
  function nextWaiter(): Waiter {
    let entered = (): void => {};
    let aborted = (_: unknown): void => {};
    const w: Waiter = {
      entered: new Promise<void>((r) => (entered = r)),
      aborted: new Promise<unknown>((r) => (aborted = r)),
    };
    waiters.push({ entered, aborted });
    return w;
  }

  it("answers gRPC with headers, one message and grpc-status in the trailers", async () => {
    const session = connect();
    const res = await call(session, { ...grpcHeaders, "x-request-id": "h2-1" }, frame(request("A1")));
    expect(res.headers[":status"]).toBe(200);
    expect(res.headers["content-type"]).toBe("application/grpc+proto");
    expect(res.headers["x-request-id"]).toBe("h2-1");
    expect(res.headers["x-header"]).toBe("h1");
    expect(res.trailers["grpc-status"]).toBe("0");
    expect(res.trailers["x-trailer"]).toBe("t1");
    expect(res.body.readUInt32BE(1)).toBe(res.body.length - 5);
    expect(fromBinary(GetItemDetailResponseSchema, res.body.subarray(5)).item?.itemCode).toBe("A1");
  });

  it("puts a handler's error in the trailers (grpc-status, grpc-message)", async () => {
    const res = await call(connect(), grpcHeaders, frame(request("MISSING")));
    expect(res.headers[":status"]).toBe(200);
    const status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
    const message = res.trailers["grpc-message"] ?? res.headers["grpc-message"];
    expect([status, decodeURIComponent(String(message))]).toEqual([String(Code.NotFound), "no such item"]);
  });

  it("answers Connect binary over HTTP/2 with a content-length and trailer- headers", async () => {
    const res = await call(connect(), { "content-type": "application/proto" }, request("A2"));
    expect(res.headers[":status"]).toBe(200);
    expect(res.headers["content-length"]).toBe(String(res.body.length));
    expect(res.headers["trailer-x-trailer"]).toBe("t1");
    expect(fromBinary(GetItemDetailResponseSchema, res.body).item?.itemCode).toBe("A2");
  });

  it("ends a call at its deadline with deadline_exceeded (gRPC and Connect)", async () => {
    const session = connect();
    const grpcWait = nextWaiter();
    const grpcRes = await call(session, { ...grpcHeaders, "grpc-timeout": "100m" }, frame(request("WAIT")));
    expect(grpcRes.trailers["grpc-status"] ?? grpcRes.headers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    expect(ConnectError.from(await grpcWait.aborted).code).toBe(Code.DeadlineExceeded);

    const res = await call(
      session,
      { "content-type": "application/proto", "connect-timeout-ms": "100" },
      request("WAIT"),
    );
    expect(res.headers[":status"]).toBe(504);
    expect(JSON.parse(res.body.toString("utf8")).code).toBe("deadline_exceeded");
  });

  it("aborts the call's signal when the client resets the stream mid-call, and the session serves on", async () => {
    const session = connect();
    for (const code of [http2.constants.NGHTTP2_CANCEL, http2.constants.NGHTTP2_INTERNAL_ERROR]) {
      const w = nextWaiter();
      const stream = session.request({ ":method": "POST", ":path": path, ...grpcHeaders });
      stream.on("error", () => {});
      stream.end(frame(request("WAIT")));
      const closed = new Promise((resolve) => stream.once("close", resolve));
      await w.entered;
      stream.close(code);
      expect(await w.aborted).toBeDefined();
      await closed;
      const next = await call(session, grpcHeaders, frame(request("B1")));
      expect(next.trailers["grpc-status"]).toBe("0");
    }
  });

  it("survives a client that resets a stream in the middle of its request body", async () => {
    const session = connect();
    const stream = session.request({ ":method": "POST", ":path": path, ...grpcHeaders });
    stream.on("error", () => {});
    const whole = frame(request("C1"));
    stream.write(whole.subarray(0, 7));
    await new Promise<void>((resolve) => stream.once("ready", resolve));
    const closed = new Promise((resolve) => stream.once("close", resolve));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    const next = await call(session, grpcHeaders, frame(request("C2")));
    expect(next.trailers["grpc-status"]).toBe("0");
  });

  it("hands what it declines to fastify and connect-es: gRPC+JSON, compressed, streaming-free plain routes", async () => {
    const session = connect();
    const json = await call(
      session,
      { "content-type": "application/grpc+json", te: "trailers" },
      frame(Buffer.from(JSON.stringify({ itemCode: "D1" }))),
    );
    expect(json.trailers["grpc-status"]).toBe("0");
    expect(JSON.parse(json.body.subarray(5).toString("utf8")).item.itemCode).toBe("D1");

    const gz = await call(session, { ...grpcHeaders, "grpc-encoding": "gzip" }, frame(gzipSync(request("D2")), 1));
    expect(gz.trailers["grpc-status"]).toBe("0");

    const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ":method": "GET", ":path": "/healthz" });
      let status = 0;
      let body = "";
      stream.setEncoding("utf8");
      stream.on("response", (h) => (status = Number(h[":status"])));
      stream.on("data", (c: string) => (body += c));
      stream.on("end", () => resolve({ status, body }));
      stream.on("error", reject);
      stream.end();
    });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body).status).toBe("ok");
    // Each stream was seen exactly once, whichever path answered it.
    expect(seen.filter((r) => r.url === "/healthz").map((r) => r.httpVersion)).toEqual(["2.0"]);
  });
});
