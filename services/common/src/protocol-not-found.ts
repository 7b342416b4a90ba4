import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * A path no route serves, answered in the framing of the protocol the request speaks, with code
 * unimplemented as the gRPC and Connect specs name it: gRPC gets HTTP 200 with grpc-status 12 in
 * the trailers, gRPC-Web a trailer frame, Connect its JSON error with HTTP 404; anything else
 * fastify's plain JSON 404.
 */
export function replyNotFoundInProtocol(req: FastifyRequest, reply: FastifyReply): void {
  const type = String(req.headers["content-type"] ?? "");
  const error = new ConnectError(`${req.method} ${req.url.split("?")[0]} is not implemented`, Code.Unimplemented);
  const grpcTrailers = () => {
    const out: Record<string, string> = {};
    setTrailerStatus(new Headers(), error).forEach((v, k) => {
      out[k] = v;
    });
    return out;
  };
  if (type.startsWith("application/grpc-web")) {
    const trailer = trailerSerialize(new Headers(grpcTrailers()));
    const frame = Buffer.alloc(5 + trailer.byteLength);
    frame[0] = 0x80;
    frame.writeUInt32BE(trailer.byteLength, 1);
    frame.set(trailer, 5);
    void reply.code(200).header("content-type", type).send(frame);
    return;
  }
  if (type.startsWith("application/grpc")) {
    // Trailers-only: the status in the one HEADERS frame, which ends the stream. The compatibility
    // API would send an empty DATA frame to end it, and grpc-go then reports missing trailers.
    reply.hijack();
    const headers = { "content-type": type, "x-request-id": String(req.id), ...grpcTrailers() };
    const raw = reply.raw as unknown as http.ServerResponse | http2.Http2ServerResponse;
    if ("stream" in raw) raw.stream.respond({ ":status": 200, ...headers }, { endStream: true });
    else raw.writeHead(200, headers).end();
    return;
  }
  const connect =
    /^application\/(json|proto|connect\+)/.test(type) || (req.method === "GET" && /[?&]encoding=/.test(req.url));
  if (connect) {
    void reply
      .code(404)
      .header("content-type", "application/json")
      .send(Buffer.from(errorToJsonBytes(error, undefined)));
    return;
  }
  void reply
    .code(404)
    .send({ message: `Route ${req.method}:${req.url} not found`, error: "Not Found", statusCode: 404 });
}
