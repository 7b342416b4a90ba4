import type http from "node:http";
import type http2 from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamToJson,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";

/** Which RPC protocol a request speaks, judged from its method, URL and content type; undefined: not an RPC. */
export type RpcProtocol = "connect" | "connect-stream" | "grpc" | "grpc-web";

export function rpcProtocolOf(method: string, url: string, contentType: string | undefined): RpcProtocol | undefined {
  const type = contentType ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  if (/^application\/(json|proto)/.test(type)) return "connect";
  // Connect GET: the message rides in the query.
  if (method === "GET" && /[?&]encoding=/.test(url)) return "connect";
  return undefined;
}

/**
 * An error as the protocol frames it, ready to write with any of Node's APIs: Connect unary its
 * JSON error with the code's HTTP status, Connect streaming an end-stream message, gRPC
 * "trailers-only" (HTTP 200, the status in the one HEADERS frame, no body), gRPC-Web a trailer frame.
 */
export interface FramedError {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

export function frameError(protocol: RpcProtocol, contentType: string | undefined, error: ConnectError): FramedError {
  switch (protocol) {
    case "connect":
      return {
        status: codeToHttpStatus(error.code),
        headers: { "content-type": "application/json" },
        body: errorToJsonBytes(error, undefined),
      };
    case "connect-stream": {
      const json = new TextEncoder().encode(JSON.stringify(endStreamToJson(new Headers(), error, undefined)));
      return { status: 200, headers: { "content-type": contentType ?? "" }, body: envelope(endStreamFlag, json) };
    }
    case "grpc":
      return { status: 200, headers: { "content-type": contentType ?? "", ...grpcStatus(error) }, body: undefined };
    case "grpc-web": {
      const trailer = trailerSerialize(new Headers(grpcStatus(error)));
      return { status: 200, headers: { "content-type": contentType ?? "" }, body: envelope(0b1000_0000, trailer) };
    }
  }
}

function grpcStatus(error: ConnectError): Record<string, string> {
  const out: Record<string, string> = {};
  setTrailerStatus(new Headers(), error).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + data.byteLength);
  frame[0] = flags;
  frame.writeUInt32BE(data.byteLength, 1);
  frame.set(data, 5);
  return frame;
}

/** Writes `framed` on an HTTP/1.1 response or an HTTP/2 compatibility response (gRPC trailers-only on the stream). */
export function writeFramedError(
  res: http.ServerResponse | http2.Http2ServerResponse,
  framed: FramedError,
  extra: Record<string, string> = {},
): void {
  const headers = { ...framed.headers, ...extra };
  if (framed.body !== undefined) headers["content-length"] = String(framed.body.byteLength);
  if ("stream" in res && framed.body === undefined) {
    // The compatibility API would end the stream with an empty DATA frame; grpc-go then reports
    // missing trailers. One HEADERS frame that ends the stream is what trailers-only means.
    res.stream.respond({ ":status": framed.status, ...headers }, { endStream: true });
    return;
  }
  // Both response kinds have writeHead(status, headers); TypeScript cannot call it through the union.
  (res as http.ServerResponse).writeHead(framed.status, headers);
  if (framed.body === undefined) res.end();
  else res.end(framed.body);
}

/** The same on an HTTP/2 stream served without the compatibility layer. */
export function writeFramedErrorOnStream(
  stream: http2.ServerHttp2Stream,
  framed: FramedError,
  extra: Record<string, string> = {},
): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const headers: http2.OutgoingHttpHeaders = { ":status": framed.status, ...framed.headers, ...extra };
  if (framed.body === undefined) {
    stream.respond(headers, { endStream: true });
    return;
  }
  headers["content-length"] = String(framed.body.byteLength);
  stream.respond(headers);
  stream.end(framed.body);
}
