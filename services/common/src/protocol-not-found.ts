import { Code, ConnectError } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import { frameError, rpcProtocolOf, writeFramedError } from "./protocol-error.js";

/**
 * A path no route serves, answered in the framing of the protocol the request speaks, with code
 * unimplemented as the gRPC and Connect specs name it: gRPC gets HTTP 200 with grpc-status 12 in
 * the trailers, gRPC-Web a trailer frame, Connect its JSON error with HTTP 404; anything else
 * fastify's plain JSON 404.
 */
export function replyNotFoundInProtocol(req: FastifyRequest, reply: FastifyReply): void {
  const type = req.headers["content-type"];
  const protocol = rpcProtocolOf(req.method, req.url, type);
  if (protocol === undefined) {
    void reply
      .code(404)
      .send({ message: `Route ${req.method}:${req.url} not found`, error: "Not Found", statusCode: 404 });
    return;
  }
  const error = new ConnectError(`${req.method} ${req.url.split("?")[0]} is not implemented`, Code.Unimplemented);
  const framed = frameError(protocol, type, error);
  // A route nobody serves is HTTP's 404 (connect-go answers the same), not unimplemented's 501.
  if (protocol === "connect") framed.status = 404;
  if (framed.body !== undefined) {
    // Through fastify, so that the headers its hooks set (CORS, the request id) go along.
    void reply.code(framed.status).headers(framed.headers).send(Buffer.from(framed.body));
    return;
  }
  reply.hijack();
  writeFramedError(reply.raw, framed, { "x-request-id": String(req.id) });
}
