import type http from "node:http";
import type http2 from "node:http2";
import type { Readable } from "node:stream";
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
import { isFrozenMessage, toBinaryReusing } from "./frozen-messages.js";
import { type PeerIdentity, peerIdentityOf, peerIdentityOfStream } from "./peer-identity.js";
import { type CallState, runUnaryCall, type UnarySpec } from "./unary-call.js";

// The unary fast path: Connect (POST JSON/binary, GET), gRPC and gRPC-Web unary calls answered
// straight from Node's request/response (HTTP/1.1) or HTTP/2 stream, in front of fastify and
// connect-es' universal handler.
// Same implementations (connect-es' MethodImplSpec), same interceptors, same codec and limits
// (connect-es' own serialization and options); only the per-call plumbing is leaner. Anything
// unusual (streaming methods, compressed requests, other content types, gRPC over HTTP/1.1,
// browsers' CORS requests, methods registered with options of their own) is declined and goes to
// fastify and connect-es untouched.

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
type NodeHeaders = http.IncomingHttpHeaders;

export interface UnaryFastPathOptions {
  /** The same options connect-fastify gets (readMaxBytes, acceptCompression, …). */
  handlerOptions: Partial<UniversalHandlerOptions>;
  interceptors: readonly Interceptor[];
  /** The request id for a request (the caller's x-request-id when acceptable). */
  requestId(given: string | string[] | undefined): string;
  /**
   * The per-call context values; nodeHttpVersion as Node gives it ("1.1", "2.0"); `peer` looks up
   * the connection's verified client certificate (mTLS), for whoever needs it.
   */
  contextValues(
    requestId: string,
    nodeHttpVersion: string,
    peer: () => PeerIdentity | undefined,
    remoteAddress: () => string | undefined,
  ): ContextValues;
}

export interface UnaryFastPath {
  /** Serves `spec` on the fast path (unary methods only; others stay with connect-es). */
  add(spec: UnarySpec): void;
  /** Takes the request (true) or declines it (false: hand it to fastify). Never throws. */
  handle(req: NodeRequest, res: NodeResponse): boolean;
  /**
   * The same for an HTTP/2 stream, before Node's compatibility layer builds a request/response pair
   * for it (false: hand the stream to that layer, and so to fastify). Never throws.
   */
  handleStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
}

/** One request and its response as the fast path needs them: Node's request/response pair, or an HTTP/2 stream. */
interface Exchange {
  readonly method: string;
  readonly headers: NodeHeaders;
  readonly http2: boolean;
  /** As Node gives it: "1.1", "2.0". */
  readonly httpVersion: string;
  readonly body: Readable;
  url(): string;
  /** Calls `listener` once if the client goes away before the response is complete. */
  onClientGone(listener: () => void): void;
  /** The connection's verified client certificate identity (mTLS), if any. */
  peer(): PeerIdentity | undefined;
  /** The client's address as the socket sees it. */
  remoteAddress(): string | undefined;
  /** Whether the request body was read to its end. */
  complete(): boolean;
  /** False once the response has started or the client is gone. */
  canRespond(): boolean;
  /** The whole response; `trailers` only for gRPC (HTTP/2). */
  respond(
    status: number,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    trailers?: Record<string, string>,
  ): void;
  destroy(e: Error | undefined): void;
}

type Wire = "connect" | "grpc" | "grpc-web";

interface Method {
  spec: UnarySpec;
  serialization: ReturnType<typeof createMethodSerializationLookup>;
  getAllowed: boolean;
  /**
   * Encoded responses of deep-frozen output messages (isFrozenMessage), binary and JSON: such a
   * message can never change, so its bytes cannot go stale; a new version is a new object (the
   * old one's entry goes with it). Only the bytes of one method and format share an entry.
   */
  encoded: { binary: WeakMap<object, Uint8Array>; json: WeakMap<object, Uint8Array> };
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

  async function serve(ex: Exchange, call: Call): Promise<void> {
    const { method, wire } = call;
    let state: CallState | undefined;
    try {
      const timeout =
        wire === "connect"
          ? connect.parseTimeout(header(ex.headers, "connect-timeout-ms"), opt.maxTimeoutMs)
          : grpc.parseTimeout(header(ex.headers, "grpc-timeout"), opt.maxTimeoutMs);
      if (timeout.error !== undefined) throw timeout.error;
      const bytes =
        call.get !== undefined ? queryMessage(call.get) : await readBody(ex.body, ex.headers, opt.readMaxBytes);
      const payload = wire === "connect" ? bytes : unaryEnvelope(bytes, opt.readMaxBytes);
      const input = method.serialization.getI(call.binary).parse(payload);
      const run = runUnaryCall(
        method.spec,
        {
          protocolName: wire,
          requestMethod: ex.method,
          rawHeaders: ex.headers,
          url: () => ex.url(),
          timeoutMs: timeout.timeoutMs,
          contextValues: options.contextValues(call.requestId, ex.httpVersion, ex.peer, ex.remoteAddress),
          // Watched only once someone holds the call's signal: most calls never look.
          onClientGone: (abort) =>
            ex.onClientGone(() => abort(new ConnectError("the client went away", Code.Canceled))),
        },
        input,
        options.interceptors,
      );
      state = run.state;
      const output = await run.output;
      const body = encodeOutput(method, call.binary, output as Message);
      await writeOk(ex, call, body, state);
    } catch (e) {
      const error =
        e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      writeError(ex, call, error, state);
    } finally {
      state?.finish();
    }
  }

  async function writeOk(ex: Exchange, call: Call, body: Uint8Array, state: CallState): Promise<void> {
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
      ex.respond(200, headers, out);
      return;
    }
    const message = compress === null ? envelope(0, body) : envelope(1, await compress.compress(body));
    if (compression !== null) headers["grpc-encoding"] = compression.name;
    const trailers: Record<string, string> = { "grpc-status": "0" };
    if (state.responseTrailer !== undefined) copyInto(trailers, state.responseTrailer);
    if (call.wire === "grpc") {
      headers["content-type"] = grpcProto;
      ex.respond(200, headers, message, trailers);
      return;
    }
    headers["content-type"] = grpcWebProto;
    const trailer = envelope(trailerFlag, encodeTrailer(trailers));
    ex.respond(200, headers, Buffer.concat([message, trailer]));
  }

  function writeError(ex: Exchange, call: Call, error: ConnectError, state: CallState | undefined): void {
    if (!ex.canRespond()) return;
    const headers: Record<string, string> = { "x-request-id": call.requestId };
    if (state?.responseHeader !== undefined) copyInto(headers, state.responseHeader);
    // A request whose body we did not read to the end cannot leave its HTTP/1.1 connection reusable.
    if (!ex.http2 && !ex.complete()) headers.connection = "close";
    if (call.wire === "connect") {
      const h = new Headers(headers);
      if (!error.isWireError) mergeNonProtocolHeaders(h, error.metadata);
      h.set("content-type", connectJson);
      if (state?.responseTrailer !== undefined) {
        for (const [k, v] of state.responseTrailer) h.set(`trailer-${k}`, v);
      }
      const body = connect.errorToJsonBytes(error, opt.jsonOptions);
      h.set("content-length", String(body.byteLength));
      ex.respond(connect.codeToHttpStatus(error.code), toRecord(h), body);
      return;
    }
    const trailers = grpc.setTrailerStatus(new Headers(state?.responseTrailer), error);
    if (call.wire === "grpc") {
      headers["content-type"] = grpcProto;
      ex.respond(200, headers, undefined, toRecord(trailers));
      return;
    }
    headers["content-type"] = grpcWebProto;
    ex.respond(200, headers, envelope(trailerFlag, encodeTrailer(toRecord(trailers))));
  }

  function encodeOutput(method: Method, binary: boolean, output: Message): Uint8Array {
    if (!isFrozenMessage(output)) {
      // A fresh response may still hold frozen parts (a stored cart and its lines): their bytes are
      // cached, so a long cart costs what changed in it, not its length (frozen-messages.ts).
      if (binary && opt.binaryOptions === undefined) {
        let bytes: Uint8Array;
        try {
          bytes = toBinaryReusing(method.spec.method.output, output);
        } catch (e) {
          throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
        }
        // connect-es' own check (and words) for what its serializer would have refused.
        if (bytes.byteLength > opt.writeMaxBytes) {
          throw new ConnectError(
            `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${opt.writeMaxBytes}`,
            Code.ResourceExhausted,
          );
        }
        return bytes;
      }
      return method.serialization.getO(binary).serialize(output);
    }
    const cache = binary ? method.encoded.binary : method.encoded.json;
    let bytes = cache.get(output);
    if (bytes === undefined) {
      bytes = method.serialization.getO(binary).serialize(output);
      cache.set(output, bytes);
    }
    return bytes;
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
        encoded: { binary: new WeakMap(), json: new WeakMap() },
      });
    },
    handle(req, res) {
      return take(req.headers, req.url ?? "", req.method ?? "", req.httpVersionMajor === 2, () =>
        nodeExchange(req, res),
      );
    },
    handleStream(stream, headers) {
      return take(headers, headers[":path"] ?? "", headers[":method"] ?? "", true, () =>
        streamExchange(stream, headers),
      );
    },
  };

  /** Classifies the request from its headers alone; builds the exchange only for a request it takes. */
  function take(h: NodeHeaders, url: string, verb: string, h2: boolean, exchange: () => Exchange): boolean {
    // Browsers' calls (CORS: the origin header) go through fastify, where @fastify/cors answers them.
    if (h.origin !== undefined) return false;
    const q = url.indexOf("?");
    const method = methods.get(q < 0 ? url : url.slice(0, q));
    if (method === undefined) return false;
    const call = classify(h, verb, h2, method, q < 0 ? undefined : url.slice(q + 1));
    if (call === undefined) return false;
    const ex = exchange();
    void serve(ex, call).catch((e: unknown) => {
      // Only a failed write can get here; the connection is beyond help.
      ex.destroy(e instanceof Error ? e : undefined);
    });
    return true;
  }

  /** Which protocol and format a request speaks, or undefined when the fast path should decline it. */
  function classify(
    h: NodeHeaders,
    verb: string,
    h2: boolean,
    method: Method,
    query: string | undefined,
  ): Call | undefined {
    const make = (wire: Wire, binary: boolean, get?: URLSearchParams): Call => ({
      method,
      wire,
      binary,
      get,
      accept: headerValue(wire === "connect" ? h["accept-encoding"] : h["grpc-accept-encoding"]),
      requestId: options.requestId(h["x-request-id"]),
    });
    if (verb === "POST") {
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
          return h2 && identity(h["grpc-encoding"]) ? make("grpc", true) : undefined;
        case "application/grpc-web":
        case grpcWebProto:
          return identity(h["grpc-encoding"]) ? make("grpc-web", true) : undefined;
        default:
          return undefined;
      }
    }
    if (verb === "GET" && method.getAllowed && query !== undefined) {
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

function header(h: NodeHeaders, name: string): string | null {
  const v = h[name];
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
function readBody(req: Readable, headers: NodeHeaders, readMaxBytes: number): Promise<Uint8Array> {
  const declared = Number(headers["content-length"] ?? Number.NaN);
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
    // Detached once settled: Node keeps an HTTP/2 stream reachable until the next mark-compact
    // (decision record 0004, point 8), and these listeners would keep the body and this promise with it.
    const settle = () => {
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > readMaxBytes) {
        settle();
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
    const onEnd = () => {
      if (settled) return;
      settle();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    // Also a client that goes away mid-body (ECONNRESET, stream reset): nothing to answer then.
    const onError = (e: Error) => {
      if (settled) return;
      settle();
      reject(new ConnectError(`reading the request failed: ${e.message}`, Code.Canceled));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    // Later errors (a reset after the body) are the exchange's: it keeps a listener of its own.
    req.on("error", onError);
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

function nodeExchange(req: NodeRequest, res: NodeResponse): Exchange {
  return {
    method: req.method ?? "",
    headers: req.headers,
    http2: req.httpVersionMajor === 2,
    httpVersion: req.httpVersion,
    body: req,
    url: () => requestUrl(req),
    peer: () => peerIdentityOf(req),
    remoteAddress: () => req.socket.remoteAddress,
    onClientGone(listener) {
      res.once("close", () => {
        if (!res.writableFinished) listener();
      });
    },
    complete: () => req.complete,
    canRespond: () => !res.headersSent && !res.destroyed,
    respond(status, headers, body, trailers) {
      // Both response kinds have writeHead(status, headers); TypeScript cannot call it through the union.
      (res as http.ServerResponse).writeHead(status, headers);
      if (trailers !== undefined) (res as http2.Http2ServerResponse).addTrailers(trailers);
      if (body === undefined) res.end();
      else res.end(body);
    },
    destroy: (e) => res.destroy(e),
  };
}

/**
 * An HTTP/2 stream served directly (as grpc-js does), without the request/response pair Node's
 * compatibility layer would build for it: for gRPC, headers, DATA and trailers in three writes.
 */
function streamExchange(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Exchange {
  let responded = false;
  // A stream the client resets emits 'error' (unless it cancelled); nobody else listens on this one.
  stream.on("error", ignore);
  return {
    method: headers[":method"] ?? "",
    headers,
    http2: true,
    httpVersion: "2.0",
    body: stream,
    url() {
      const scheme = stream.session?.encrypted === true ? "https" : "http";
      return new URL(
        headers[":path"] ?? "",
        `${scheme}://${headers[":authority"] ?? headers.host ?? "localhost"}`,
      ).toString();
    },
    peer: () => peerIdentityOfStream(stream),
    remoteAddress: () => stream.session?.socket?.remoteAddress,
    onClientGone(listener) {
      stream.once("close", () => {
        if (!responded) listener();
      });
    },
    complete: () => stream.readableEnded,
    canRespond: () => !responded && !stream.destroyed && !stream.closed,
    respond(status, h, body, trailers) {
      // The client may have reset the stream while the call ran: there is no one left to answer.
      if (responded || stream.destroyed || stream.closed) return;
      responded = true;
      h[":status"] = String(status);
      if (trailers === undefined) {
        stream.respond(h, { endStream: body === undefined });
        if (body !== undefined) stream.end(body);
        return;
      }
      stream.respond(h, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end(body);
    },
    destroy: (e) => stream.destroy(e),
  };
}

function ignore(): void {}

function requestUrl(req: NodeRequest): string {
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  const authority = "authority" in req ? req.authority : req.headers.host;
  return new URL(req.url ?? "", `${encrypted ? "https" : "http"}://${authority ?? "localhost"}`).toString();
}
