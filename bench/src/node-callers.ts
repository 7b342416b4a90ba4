import http from "node:http";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  type BatchGetItemDetailsRequest,
  type BatchGetItemDetailsResponse,
  type GetItemDetailRequest,
  type GetItemDetailResponse,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { NodeClientKind } from "./client-spec.js";

/** ItemService as the bench calls it, whatever the client library and protocol underneath. */
export interface ItemCaller {
  getItemDetail(req: GetItemDetailRequest): Promise<GetItemDetailResponse>;
  batchGetItemDetails(req: BatchGetItemDetailsRequest): Promise<BatchGetItemDetailsResponse>;
  close(): void;
}

/**
 * The clients a Node team would use: connect-node for Connect, gRPC and gRPC-Web (one keep-alive
 * socket per concurrent call over HTTP/1.1, ONE session over HTTP/2, as cart does), or a plain
 * @grpc/grpc-js channel.
 */
export function createItemCaller(
  kind: NodeClientKind,
  baseUrl: string,
  concurrency: number,
  headers: Record<string, string>,
): ItemCaller {
  if (kind === "grpc-js") return grpcJsCaller(baseUrl, headers);
  const interceptors = [sendHeaders(headers)];
  let transport: Transport;
  let close: () => void;
  if (kind === "connect-proto-h2" || kind === "grpc") {
    const sessionManager = new Http2SessionManager(baseUrl);
    const options = { baseUrl, httpVersion: "2" as const, useBinaryFormat: true, sessionManager, interceptors };
    transport = kind === "grpc" ? createGrpcTransport(options) : createConnectTransport(options);
    close = () => sessionManager.abort();
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, concurrency) });
    const options = {
      baseUrl,
      httpVersion: "1.1" as const,
      useBinaryFormat: kind !== "connect-json-h1",
      nodeOptions: { agent },
      interceptors,
    };
    transport = kind === "grpc-web-h1" ? createGrpcWebTransport(options) : createConnectTransport(options);
    close = () => agent.destroy();
  }
  const client = createClient(ItemService, transport);
  return {
    getItemDetail: (req) => client.getItemDetail(req),
    batchGetItemDetails: (req) => client.batchGetItemDetails(req),
    close,
  };
}

/** Sets these headers on every call (the bench's credential). */
export function sendHeaders(headers: Record<string, string>): Interceptor {
  return (next) => (req) => {
    for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
    return next(req);
  };
}

function grpcJsCaller(baseUrl: string, headers: Record<string, string>): ItemCaller {
  const client = new grpc.Client(new URL(baseUrl).host, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  const get = ItemService.method.getItemDetail;
  const batch = ItemService.method.batchGetItemDetails;
  const call = <Req, Res>(path: string, ser: (m: Req) => Buffer, de: (b: Buffer) => Res, req: Req) =>
    new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest(path, ser, de, req, metadata, (err, res) => {
        if (err !== null) reject(err);
        else if (res === undefined) reject(new Error("grpc-js answered no message"));
        else resolve(res);
      });
    });
  return {
    getItemDetail: (req) =>
      call(
        `/${ItemService.typeName}/${get.name}`,
        (m: GetItemDetailRequest) => Buffer.from(toBinary(get.input, m)),
        (b) => fromBinary(get.output, b),
        req,
      ),
    batchGetItemDetails: (req) =>
      call(
        `/${ItemService.typeName}/${batch.name}`,
        (m: BatchGetItemDetailsRequest) => Buffer.from(toBinary(batch.input, m)),
        (b) => fromBinary(batch.output, b),
        req,
      ),
    close: () => client.close(),
  };
}
