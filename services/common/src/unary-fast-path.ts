import type http from "node:http";
import type http2 from "node:http2";
import type { Message } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  mergeNonProtocolHeaders,
  type UniversalHandlerOptions,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import { trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { type CallState, runUnaryCall, type UnarySpec } from "./unary-call.js";

// The unary fast path: Connect (POST JSON/binary, GET), gRPC and gRPC-Web unary calls answered
// straight from Node's request/response, in front of fastify and connect-es' universal handler.
// Same implementations (connect-es' MethodImplSpec), same interceptors, same codec and limits
// (connect-es' own serialization and options); only the per-call plumbing is leaner. Anything
// unusual (streaming methods, compressed requests, other content types, gRPC over HTTP/1.1,
// browsers' CORS requests, methods registered with options of their own) is declined and goes to
// fastify and connect-es untouched.

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface UnaryFastPathOptions {
  /** The same options connect-fastify gets (readMaxBytes, acceptCompression, …). */
  handlerOptions: Partial<UniversalHandlerOptions>;
  interceptors: readonly Interceptor[];
  /** The request id for a request (the caller's x-request-id when acceptable). */
  requestId(given: string | string[] | undefined): string;
  /** The per-call context values; nodeHttpVersion as Node gives it ("1.1", "2.0"). */
  contextValues(requestId: string, nodeHttpVersion: string): ContextValues;
}

export interface UnaryFastPath {
  /** Serves `spec` on the fast path (unary methods only; others stay with connect-es). */
  add(spec: UnarySpec): void;
  /** Takes the request (true) or declines it (false: hand it to fastify). Never throws. */
  handle(req: NodeRequest, res: NodeResponse): boolean;
}

type Wire = "connect" | "grpc" | "grpc-web";

interface Method {
  spec: UnarySpec;
  serialization: ReturnType<typeof createMethodSerializationLookup>;
  getAllowed: boolean;
}

interface Call {
  method: Method;
  wire: Wire;
  binary: boolean;
  get: URLSearchParams | undefined;
  /** The accept-encoding the client sent for the response. */
  accept: string | undefined;
  requestId: string;
}

const connectJson = "application/json";
const connectProto = "application/proto";
const grpcProto = "application/grpc+proto";
const grpcWebProto = "application/grpc-web+proto";
const envelopeHeader = 5;
const trailerFlag = 0b1000_0000;

export function createUnaryFastPath(options: UnaryFastPathOptions): UnaryFastPath {
  const opt = validateUniversalHandlerOptions(options.handlerOptions);
  const methods = new Map<string, Method>();

  async function serve(req: NodeRequest, res: NodeResponse, call: Call): Promise<void> {
    const { method, wire } = call;
    let state: CallState | undefined;
    try {
      const timeout =
        wire === "connect"
          ? connect.parseTimeout(header(req, "connect-timeout-ms"), opt.maxTimeoutMs)
          : grpc.parseTimeout(header(req, "grpc-timeout"), opt.maxTimeoutMs);
      if (timeout.error !== undefined) throw timeout.error;
      const bytes = call.get !== undefined ? queryMessage(call.get) : await readBody(req, opt.readMaxBytes);
      const payload = wire === "connect" ? bytes : unaryEnvelope(bytes, opt.readMaxBytes);
      const input = method.serialization.getI(call.binary).parse(payload);
      const run = runUnaryCall(
        method.spec,
        {
          protocolName: wire,
          requestMethod: req.method ?? "POST",
          rawHeaders: req.headers,
          url: () => requestUrl(req),
          timeoutMs: timeout.timeoutMs,
          contextValues: options.contextValues(call.requestId, req.httpVersion),
          // Watched only once someone holds the call's signal: most calls never look.
          onClientGone: (abort) =>
            res.once("close", () => {
              if (!res.writableFinished) abort(new ConnectError("the client went away", Code.Canceled));
            }),
        },
        input,
        options.interceptors,
      );
      state = run.state;
      const output = await run.output;
      const body = method.serialization.getO(call.binary).serialize(output as Message);
      await writeOk(res, call, body, state);
    } catch (e) {
      const error =
        e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      writeError(req, res, call, error, state);
    } finally {
      state?.finish();
    }
  }

  async function writeOk(res: NodeResponse, call: Call, body: Uint8Array, state: CallState): Promise<void> {
    const compression = negotiate(call);
    const compress = compression !== null && body.byteLength >= opt.compressMinBytes ? compression : null;
    const headers: Record<string, string> = { "x-request-id": call.requestId };
    if (state.responseHeader !== undefined) copyInto(headers, state.responseHeader);
    if (call.wire === "connect") {
      headers["content-type"] = call.binary ? connectProto : connectJson;
      if (state.responseTrailer !== undefined)
        state.responseTrailer.forEach((v, k) => {
          headers[`trailer-${k}`] = v;
        });
      let out = body;
      if (compress !== null) {
        out = await compress.compress(body);
        headers["content-encoding"] = compress.name;
      }
      headers["content-length"] = String(out.byteLength);
      writeHead(res, 200, headers);
      res.end(out);
      return;
    }
    const message = compress === null ? envelope(0, body) : envelope(1, await compress.compress(body));
    if (compression !== null) headers["grpc-encoding"] = compression.name;
    const trailers: Record<string, string> = { "grpc-status": "0" };
    if (state.responseTrailer !== undefined) copyInto(trailers, state.responseTrailer);
    if (call.wire === "grpc") {
      headers["content-type"] = grpcProto;
      writeHead(res, 200, headers);
      (res as http2.Http2ServerResponse).addTrailers(trailers);
      res.end(message);
      return;
    }
    headers["content-type"] = grpcWebProto;
    const trailer = envelope(trailerFlag, encodeTrailer(trailers));
    writeHead(res, 200, headers);
    res.end(Buffer.concat([message, trailer]));
  }

  function writeError(
    req: NodeRequest,
    res: NodeResponse,
    call: Call,
    error: ConnectError,
    state: CallState | undefined,
  ): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { "x-request-id": call.requestId };
    if (state?.responseHeader !== undefined) copyInto(headers, state.responseHeader);
    // A request whose body we did not read to the end cannot leave its HTTP/1.1 connection reusable.
    if (!req.complete && req.httpVersionMajor === 1) headers.connection = "close";
    if (call.wire === "connect") {
      const h = new Headers(headers);
      if (!error.isWireError) mergeNonProtocolHeaders(h, error.metadata);
      h.set("content-type", connectJson);
      if (state?.responseTrailer !== undefined) {
        for (const [k, v] of state.responseTrailer) h.set(`trailer-${k}`, v);
      }
      const body = connect.errorToJsonBytes(error, opt.jsonOptions);
      h.set("content-length", String(body.byteLength));
      writeHead(res, connect.codeToHttpStatus(error.code), toRecord(h));
      res.end(body);
      return;
    }
    const trailers = grpc.setTrailerStatus(new Headers(state?.responseTrailer), error);
    if (call.wire === "grpc") {
      headers["content-type"] = grpcProto;
      writeHead(res, 200, headers);
      (res as http2.Http2ServerResponse).addTrailers(toRecord(trailers));
      res.end();
      return;
    }
    headers["content-type"] = grpcWebProto;
    writeHead(res, 200, headers);
    res.end(envelope(trailerFlag, encodeTrailer(toRecord(trailers))));
  }

  function negotiate(call: Call): Compression | null {
    if (call.accept === undefined) return null;
    return compressionNegotiate(
      opt.acceptCompression,
      null,
      call.accept,
      call.wire === "connect" ? "accept-encoding" : "grpc-accept-encoding",
    ).response;
  }

  return {
    add(spec) {
      methods.set(`/${spec.method.parent.typeName}/${spec.method.name}`, {
        spec,
        serialization: createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt),
        getAllowed: spec.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
      });
    },
    handle(req, res) {
      // Browsers' calls (CORS: the origin header) go through fastify, where @fastify/cors answers them.
      if (req.headers.origin !== undefined) return false;
      const url = req.url ?? "";
      const q = url.indexOf("?");
      const method = methods.get(q < 0 ? url : url.slice(0, q));
      if (method === undefined) return false;
      const call = classify(req, method, q < 0 ? undefined : url.slice(q + 1));
      if (call === undefined) return false;
      void serve(req, res, call).catch((e: unknown) => {
        // Only a failed write can get here; the connection is beyond help.
        res.destroy(e instanceof Error ? e : undefined);
      });
      return true;
    },
  };

  /** Which protocol and format a request speaks, or undefined when the fast path should decline it. */
  function classify(req: NodeRequest, method: Method, query: string | undefined): Call | undefined {
    const h = req.headers;
    const make = (wire: Wire, binary: boolean, get?: URLSearchParams): Call => ({
      method,
      wire,
      binary,
      get,
      accept: headerValue(wire === "connect" ? h["accept-encoding"] : h["grpc-accept-encoding"]),
      requestId: options.requestId(h["x-request-id"]),
    });
    if (req.method === "POST") {
      const type = h["content-type"];
      const identity = (v: string | string[] | undefined) => v === undefined || v === "identity";
      switch (type) {
        case connectJson:
        case "application/json; charset=utf-8":
        case connectProto:
          return identity(h["content-encoding"]) ? make("connect", type === connectProto) : undefined;
        case "application/grpc":
        case grpcProto:
          // gRPC needs HTTP/2 trailers; over HTTP/1.1 connect-es answers with its own error.
          return req.httpVersionMajor === 2 && identity(h["grpc-encoding"]) ? make("grpc", true) : undefined;
        case "application/grpc-web":
        case grpcWebProto:
          return identity(h["grpc-encoding"]) ? make("grpc-web", true) : undefined;
        default:
          return undefined;
      }
    }
    if (req.method === "GET" && method.getAllowed && query !== undefined) {
      const params = new URLSearchParams(query);
      const compression = params.get("compression");
      if (compression !== null && compression !== "identity") return undefined;
      const encoding = params.get("encoding");
      if (encoding !== "json" && encoding !== "proto") return undefined;
      return make("connect", encoding === "proto", params);
    }
    return undefined;
  }
}

/** Both response kinds have writeHead(status, headers); TypeScript cannot call it through the union. */
function writeHead(res: NodeResponse, status: number, headers: Record<string, string>): void {
  (res as http.ServerResponse).writeHead(status, headers);
}

function header(req: NodeRequest, name: string): string | null {
  const v = req.headers[name];
  return typeof v === "string" ? v : Array.isArray(v) ? (v[0] ?? null) : null;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

function queryMessage(params: URLSearchParams): Uint8Array {
  const message = params.get("message") ?? "";
  return params.get("base64") === "1" ? base64Decode(message) : new TextEncoder().encode(message);
}

/** The whole request body, bounded by readMaxBytes (resource_exhausted beyond it, as connect-es). */
function readBody(req: NodeRequest, readMaxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > readMaxBytes) {
    return Promise.reject(
      new ConnectError(
        `message size ${declared} is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const cleanup = () => {
      settled = true;
      req.off("data", onData);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > readMaxBytes) {
        cleanup();
        // Dropped from here on: the answer does not wait for the rest.
        req.resume();
        reject(
          new ConnectError(
            `message size ${size} is larger than configured readMaxBytes ${readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    // Also a client that goes away mid-body (ECONNRESET, stream reset): nothing to answer then.
    req.on("error", (e: Error) => {
      if (settled) return;
      cleanup();
      reject(new ConnectError(`reading the request failed: ${e.message}`, Code.Canceled));
    });
  });
}

/** The one message of a unary gRPC / gRPC-Web request (connect-es' messages and codes). */
function unaryEnvelope(bytes: Uint8Array, readMaxBytes: number): Uint8Array {
  if (bytes.byteLength === 0)
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (bytes.byteLength < envelopeHeader)
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const flags = bytes[0] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(1);
  if (length > readMaxBytes) {
    throw new ConnectError(
      `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  const end = envelopeHeader + length;
  if (bytes.byteLength < end) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (bytes.byteLength > end)
    throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  if ((flags & 0b1) !== 0) {
    throw new ConnectError(
      "protocol error: received compressed envelope, but no grpc-encoding was sent",
      Code.InvalidArgument,
    );
  }
  return bytes.subarray(envelopeHeader, end);
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(envelopeHeader + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, envelopeHeader);
  return out;
}

function encodeTrailer(trailers: Record<string, string>): Uint8Array {
  return trailerSerialize(new Headers(trailers));
}

function copyInto(target: Record<string, string>, from: Headers): void {
  from.forEach((v, k) => {
    target[k] = v;
  });
}

function toRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

function requestUrl(req: NodeRequest): string {
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  const authority = "authority" in req ? req.authority : req.headers.host;
  return new URL(req.url ?? "", `${encrypted ? "https" : "http"}://${authority ?? "localhost"}`).toString();
}
