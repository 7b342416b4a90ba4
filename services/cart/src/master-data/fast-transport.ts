import type http from "node:http";
import {
  create,
  type DescMessage,
  type DescMethodUnary,
  fromBinary,
  fromJsonString,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  codeFromHttpStatus as connectCodeFromHttpStatus,
  errorFromJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, codeFromHttpStatus as grpcCodeFromHttpStatus } from "@connectrpc/connect/protocol-grpc";
import type { Sender } from "./http-senders.js";

export type WireProtocol = "connect" | "grpc" | "grpc-web";

export interface FastTransportOptions {
  protocol: WireProtocol;
  useBinaryFormat: boolean;
  /** Where requests go: one keep-alive pool (HTTP/1.1, undici) or one session (HTTP/2). */
  sender: Sender;
  interceptors?: Interceptor[];
  /** Streaming calls are rare for cart (none today): they go to connect-node's transport of the same protocol. */
  streaming: Transport;
}

const userAgent = "pos-cart-fast/1 (connect-es 2.2 compatible)";
// Interceptors and callers read req.signal; a call without one shares this never-aborted signal.
const neverAborted = new AbortController().signal;

interface MethodCodec {
  path: string;
  serialize(message: MessageShape<DescMessage>): Uint8Array;
  parse(bytes: Uint8Array): MessageShape<DescMessage>;
}

/**
 * A lean unary client transport behind connect-es' `Transport` interface: Connect (JSON/binary),
 * gRPC and gRPC-Web over undici (HTTP/1.1) / node:http2, one request per call with the whole body in
 * memory, and the interceptors called exactly like connect-node calls them. What it leaves out
 * per call (see bench/README.md, "client floor"): async-iterable pipelines, Web `Headers` for
 * the response unless someone reads them, a linked AbortController and a DOMException per call.
 * Error parsing (Connect JSON errors, grpc-status, status details) is connect-es' own code.
 */
export function createFastTransport(options: FastTransportOptions): Transport {
  const { protocol, useBinaryFormat, sender, streaming } = options;
  const codecs = new WeakMap<DescMethodUnary, MethodCodec>();
  const codecOf = (method: DescMethodUnary): MethodCodec => {
    let codec = codecs.get(method);
    if (codec === undefined) {
      const { input, output } = method;
      codec = {
        path: `/${method.parent.typeName}/${method.name}`,
        serialize: useBinaryFormat ? (m) => toBinary(input, m) : (m) => Buffer.from(toJsonString(input, m), "utf8"),
        parse: useBinaryFormat
          ? (b) => fromBinary(output, b)
          : (b) =>
              fromJsonString(output, Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8"), {
                ignoreUnknownFields: true,
              }),
      };
      codecs.set(method, codec);
    }
    return codec;
  };
  const wire = wireFor(protocol, useBinaryFormat);

  const core = async (req: UnaryRequest): Promise<UnaryResponse> => {
    const codec = codecOf(req.method);
    const headers: http.OutgoingHttpHeaders = {};
    req.header.forEach((value, key) => {
      headers[key] = value;
    });
    wire.setHeaders(headers);
    const raw = await sender.send(codec.path, headers, wire.frame(codec.serialize(req.message)), req.signal);
    const { message, trailer } = wire.read(raw);
    let parsed: MessageShape<DescMessage>;
    try {
      parsed = codec.parse(message);
    } catch (e) {
      throw new ConnectError(
        `parse ${useBinaryFormat ? "binary" : "json"}: ${e instanceof Error ? e.message : String(e)}`,
        Code.Internal,
      );
    }
    return responseOf(req, parsed, raw.headers, trailer, protocol === "connect");
  };
  const chain = (options.interceptors ?? []).reduceRight<(req: UnaryRequest) => Promise<UnaryResponse>>(
    (next, interceptor) =>
      interceptor(next as Parameters<Interceptor>[0]) as (req: UnaryRequest) => Promise<UnaryResponse>,
    core,
  );

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const message = isMessage(input, method.input) ? input : create(method.input, input);
      const req = {
        stream: false as const,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: codecOf(method as DescMethodUnary).path,
        header: new Headers(header),
        contextValues: contextValues ?? createContextValues(),
        message,
        signal: signal ?? neverAborted,
      } as unknown as UnaryRequest;
      if (timeoutMs === undefined || timeoutMs <= 0) {
        return (await chain(req)) as unknown as UnaryResponse<I, O>;
      }
      // A per-call timeout given to the transport itself (the resilience interceptors pass theirs per attempt).
      req.header.set(wire.timeoutHeader, wire.formatTimeout(timeoutMs));
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal?.reason);
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(
        () =>
          controller.abort(new ConnectError(`the operation timed out after ${timeoutMs} ms`, Code.DeadlineExceeded)),
        timeoutMs,
      );
      try {
        return (await chain({ ...req, signal: controller.signal })) as unknown as UnaryResponse<I, O>;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      }
    },
    stream: (...args) => streaming.stream(...args),
  };
}

interface Wire {
  timeoutHeader: string;
  formatTimeout(ms: number): string;
  setHeaders(headers: http.OutgoingHttpHeaders): void;
  frame(message: Uint8Array): Uint8Array;
  read(raw: { status: number; headers: http.IncomingHttpHeaders; trailers: http.IncomingHttpHeaders; body: Buffer }): {
    message: Uint8Array;
    trailer: http.IncomingHttpHeaders;
  };
}

/** The header and its format that carry a call's deadline for each protocol. */
export function timeoutHeaderOf(protocol: WireProtocol): { name: string; format(ms: number): string } {
  return protocol === "connect"
    ? { name: "connect-timeout-ms", format: (ms) => String(Math.max(1, Math.ceil(ms))) }
    : { name: "grpc-timeout", format: (ms) => `${Math.max(1, Math.ceil(ms))}m` };
}

function wireFor(protocol: WireProtocol, binary: boolean): Wire {
  const timeout = timeoutHeaderOf(protocol);
  const base = { timeoutHeader: timeout.name, formatTimeout: timeout.format };
  if (protocol === "connect") {
    const contentType = binary ? "application/proto" : "application/json";
    return {
      ...base,
      setHeaders(h) {
        h["content-type"] = contentType;
        h["connect-protocol-version"] = "1";
        h["user-agent"] ??= userAgent;
      },
      frame: (m) => m,
      read(raw) {
        const type = header(raw.headers, "content-type");
        const trailer: http.IncomingHttpHeaders = {};
        for (const key in raw.headers) if (key.startsWith("trailer-")) trailer[key.slice(8)] = raw.headers[key];
        if (raw.status !== 200) {
          const fallback = new ConnectError(
            `HTTP ${raw.status}`,
            connectCodeFromHttpStatus(raw.status),
            toWebHeaders(raw.headers),
          );
          if (type?.startsWith("application/json")) {
            throw errorFromJsonBytes(raw.body, toWebHeaders(raw.headers), fallback);
          }
          throw fallback;
        }
        refuseCompression(header(raw.headers, "content-encoding"), raw.headers);
        if (type === undefined || !(type === contentType || type.startsWith(`${contentType};`))) {
          throw new ConnectError(`unsupported content type ${type}`, Code.Internal, toWebHeaders(raw.headers));
        }
        return { message: raw.body, trailer };
      },
    };
  }
  const web = protocol === "grpc-web";
  const contentType = web
    ? `application/grpc-web+${binary ? "proto" : "json"}`
    : `application/grpc+${binary ? "proto" : "json"}`;
  return {
    ...base,
    setHeaders(h) {
      h["content-type"] = contentType;
      if (web) {
        h["x-grpc-web"] = "1";
        h["x-user-agent"] ??= userAgent;
      } else {
        h.te = "trailers";
        h["user-agent"] ??= userAgent;
      }
    },
    frame(m) {
      const out = Buffer.allocUnsafe(5 + m.byteLength);
      out[0] = 0;
      out.writeUInt32BE(m.byteLength, 1);
      out.set(m, 5);
      return out;
    },
    read(raw) {
      const ok = web ? raw.status >= 200 && raw.status < 300 : raw.status === 200;
      if (!ok) {
        const message = header(raw.headers, "grpc-message");
        throw new ConnectError(
          message === undefined ? `HTTP ${raw.status}` : safeDecode(message),
          grpcCodeFromHttpStatus(raw.status),
          toWebHeaders(raw.headers),
        );
      }
      // A "trailers-only" answer (an error, usually) carries its status in the headers and no body.
      if (header(raw.headers, "grpc-status") !== undefined) {
        const err = findTrailerError(toWebHeaders(raw.headers));
        if (err !== undefined) throw err;
      }
      const type = header(raw.headers, "content-type");
      if (type === undefined || !type.startsWith(web ? "application/grpc-web" : "application/grpc")) {
        throw new ConnectError(`unsupported content type ${type}`, Code.Unknown, toWebHeaders(raw.headers));
      }
      refuseCompression(header(raw.headers, "grpc-encoding"), raw.headers);
      let message: Uint8Array | undefined;
      let trailer = raw.trailers;
      const body = raw.body;
      for (let at = 0; at < body.length; ) {
        if (body.length - at < 5) throw new ConnectError("protocol error: incomplete envelope", Code.Internal);
        const flags = body[at] as number;
        const length = body.readUInt32BE(at + 1);
        const end = at + 5 + length;
        if (end > body.length) throw new ConnectError("protocol error: incomplete envelope", Code.Internal);
        const data = body.subarray(at + 5, end);
        at = end;
        if (web && (flags & 0x80) === 0x80) {
          trailer = parseWebTrailer(data);
          continue;
        }
        if ((flags & 0x01) === 0x01) {
          throw new ConnectError(
            "protocol error: received a compressed message, but no compression was negotiated",
            Code.Internal,
          );
        }
        if (message !== undefined) {
          throw new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented);
        }
        message = data;
      }
      const status = header(trailer, "grpc-status") ?? header(raw.headers, "grpc-status");
      if (status !== "0") {
        const err = findTrailerError(toWebHeaders(trailer, raw.headers));
        if (err !== undefined) throw err;
        throw new ConnectError("protocol error: missing status", Code.Internal);
      }
      if (message === undefined) {
        throw new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented);
      }
      return { message, trailer };
    },
  };
}

/** We offer no compression, so a compressed answer is a peer's mistake: refuse it clearly. */
function refuseCompression(encoding: string | undefined, headers: http.IncomingHttpHeaders): void {
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    throw new ConnectError(`unsupported response encoding "${encoding}"`, Code.Internal, toWebHeaders(headers));
  }
}

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseWebTrailer(data: Uint8Array): http.IncomingHttpHeaders {
  const out: http.IncomingHttpHeaders = {};
  for (const line of Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8").split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Web Headers for metadata; pseudo-headers and connect's trailer- prefixes stay out. */
function toWebHeaders(...sources: http.IncomingHttpHeaders[]): Headers {
  const out = new Headers();
  for (const h of sources) {
    for (const key in h) {
      if (key.startsWith(":")) continue;
      const v = h[key];
      if (Array.isArray(v)) for (const one of v) out.append(key, one);
      else if (v !== undefined) out.append(key, v);
    }
  }
  return out;
}

/** The response; its header and trailer become Web Headers only when someone reads them (most calls never do). */
function responseOf(
  req: UnaryRequest,
  message: MessageShape<DescMessage>,
  raw: http.IncomingHttpHeaders,
  trailer: http.IncomingHttpHeaders,
  connect: boolean,
): UnaryResponse {
  let h: Headers | undefined;
  let t: Headers | undefined;
  return {
    stream: false,
    service: req.service,
    method: req.method,
    message,
    get header() {
      if (h === undefined) {
        h = new Headers();
        for (const key in raw) {
          if (key.startsWith(":") || (connect && key.startsWith("trailer-"))) continue;
          const v = raw[key];
          if (Array.isArray(v)) for (const one of v) h.append(key, one);
          else if (v !== undefined) h.append(key, v);
        }
      }
      return h;
    },
    get trailer() {
      t ??= toWebHeaders(trailer);
      return t;
    },
  };
}
