import http from "node:http";
import http2 from "node:http2";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { GetItemDetailResponseSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { announce, openPeerStore, peerPort } from "./peer-store.js";
import { demo, lengthPrefixed } from "./requests.js";

// The floor: a bare node:http (FLOOR_HTTP=1.1) or node:http2 (FLOOR_HTTP=2, the stream API, as
// grpc-js uses) server that answers GetItemDetail with the same bytes master-data sends, doing
// the least a server must: read the body; for JSON parse it and stringify the item it names (the
// item's JSON made once at start-up); for binary, gRPC and gRPC-Web a fixed answer (ITEM0042's
// message, frame and trailers). No routing, no framework, no validation: what a request costs
// Node itself on this machine, so that every server reads as a multiple of it.

const store = await openPeerStore();
const items = await store.listItems(demo.tenantId, demo.storeCode, { limit: 100_000 });
const jsonByCode = new Map(items.map((i) => [i.itemCode, toJson(ItemSchema, i)]));
const [fixed] = await store.getItems(demo.tenantId, demo.storeCode, ["ITEM0042"]);
const fixedMessage = Buffer.from(
  toBinary(GetItemDetailResponseSchema, create(GetItemDetailResponseSchema, { item: fixed })),
);
const fixedFrame = Buffer.from(lengthPrefixed(fixedMessage));
const grpcWebBody = Buffer.concat([fixedFrame, Buffer.from(lengthPrefixed(Buffer.from("grpc-status: 0\r\n"), 0x80))]);

function readBody(req: NodeJS.ReadableStream, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
}

function jsonAnswer(body: Buffer): string {
  const { itemCode } = JSON.parse(body.toString()) as { itemCode?: string };
  return JSON.stringify({ item: jsonByCode.get(itemCode ?? "") ?? null });
}

const version = process.env.FLOOR_HTTP ?? "1.1";
let server: http.Server | http2.Http2Server;
if (version === "2") {
  const h2 = http2.createServer();
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const type = String(headers["content-type"] ?? "");
    readBody(stream, () => {
      if (type.startsWith("application/grpc")) {
        stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(fixedFrame);
      } else {
        stream.respond({ ":status": 200, "content-type": "application/proto", "content-length": fixedMessage.length });
        stream.end(fixedMessage);
      }
    });
  });
  server = h2;
} else {
  server = http.createServer((req, res) => {
    const type = req.headers["content-type"] ?? "";
    readBody(req, (body) => {
      if (type === "application/json") {
        const out = jsonAnswer(body);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
        res.end(out);
      } else if (type.startsWith("application/grpc-web")) {
        res.writeHead(200, { "content-type": "application/grpc-web+proto", "content-length": grpcWebBody.length });
        res.end(grpcWebBody);
      } else {
        res.writeHead(200, { "content-type": "application/proto", "content-length": fixedMessage.length });
        res.end(fixedMessage);
      }
    });
  });
  server.keepAliveTimeout = 72_000;
}

server.listen(peerPort(process.env), "127.0.0.1", () => {
  const address = server.address();
  announce(`floor-http${version}`, typeof address === "object" && address !== null ? address.port : 0);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
