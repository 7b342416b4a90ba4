import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health } from "@pos/gen/health/v1/health_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frameError, rpcProtocolOf, writeFramedError, writeFramedErrorOnStream } from "./protocol-error.js";

// Framed errors are read by the real clients of each protocol, over every way they are written:
// an HTTP/1.1 response, HTTP/2 through Node's compatibility API, and a bare HTTP/2 stream.

const error = new ConnectError("svc is shutting down; retry", Code.Unavailable);

function answer(method: string | undefined, url: string | undefined, type: string | undefined) {
  const protocol = rpcProtocolOf(method ?? "", url ?? "", type);
  if (protocol === undefined) throw new Error(`not an RPC: ${type}`);
  return frameError(protocol, type, error);
}

const servers: { close(): void }[] = [];
let h1Url: string;
let compatUrl: string;
let streamUrl: string;

async function listen(server: http.Server | http2.Http2Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  h1Url = await listen(
    http.createServer((req, res) =>
      writeFramedError(res, answer(req.method, req.url, req.headers["content-type"]), { connection: "close" }),
    ),
  );
  compatUrl = await listen(
    http2.createServer((req, res) => writeFramedError(res, answer(req.method, req.url, req.headers["content-type"]))),
  );
  const bare = http2.createServer();
  bare.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) =>
    writeFramedErrorOnStream(stream, answer(headers[":method"], headers[":path"], headers["content-type"])),
  );
  streamUrl = await listen(bare);
});
afterAll(() => {
  for (const s of servers) s.close();
});

const cases: [string, (baseUrl: string) => Transport, ("h1" | "h2")[]][] = [
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }), ["h1"]],
  [
    "Connect binary / HTTP/2",
    (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    ["h2"],
  ],
  ["Connect GET", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true }), ["h1"]],
  ["gRPC", (baseUrl) => createGrpcTransport({ baseUrl }), ["h2"]],
  ["gRPC-Web / HTTP/1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }), ["h1"]],
  ["gRPC-Web / HTTP/2", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }), ["h2"]],
];

async function codeAndMessage(call: () => Promise<unknown>): Promise<[string, string]> {
  try {
    await call();
    return ["ok", ""];
  } catch (e) {
    const err = ConnectError.from(e);
    return [Code[err.code], err.rawMessage];
  }
}

describe("errors framed in the request's protocol", () => {
  for (const [name, transport, versions] of cases) {
    for (const version of versions) {
      const targets =
        version === "h1"
          ? [["HTTP/1.1", () => h1Url]]
          : [
              ["HTTP/2 compat", () => compatUrl],
              ["HTTP/2 stream", () => streamUrl],
            ];
      for (const [where, url] of targets as [string, () => string][]) {
        it(`${name} over ${where}: the client reads unavailable and the message`, async () => {
          const client = createClient(ItemService, transport(url()));
          expect(await codeAndMessage(() => client.getItemDetail({ itemCode: "A" }))).toEqual([
            "Unavailable",
            "svc is shutting down; retry",
          ]);
        });
      }
    }
  }

  it("a streaming call (Connect and gRPC) ends with the error", async () => {
    for (const transport of [
      createConnectTransport({ baseUrl: streamUrl, httpVersion: "2" }),
      createGrpcTransport({ baseUrl: streamUrl }),
    ]) {
      const client = createClient(Health, transport);
      const read = async () => {
        for await (const _ of client.watch({ service: "" })) {
          // no message is expected before the error
        }
      };
      expect(await codeAndMessage(read)).toEqual(["Unavailable", "svc is shutting down; retry"]);
    }
  });

  it("knows an RPC from a plain request", () => {
    expect(rpcProtocolOf("POST", "/a.B/C", "application/grpc+proto")).toBe("grpc");
    expect(rpcProtocolOf("POST", "/a.B/C", "application/grpc-web+proto")).toBe("grpc-web");
    expect(rpcProtocolOf("POST", "/a.B/C", "application/connect+json")).toBe("connect-stream");
    expect(rpcProtocolOf("POST", "/a.B/C", "application/json")).toBe("connect");
    expect(rpcProtocolOf("GET", "/a.B/C?encoding=json&message=%7B%7D", undefined)).toBe("connect");
    expect(rpcProtocolOf("GET", "/readyz", undefined)).toBeUndefined();
  });
});
