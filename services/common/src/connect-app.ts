import { randomUUID } from "node:crypto";
import type { ConnectRouter } from "@connectrpc/connect";
import { createContextValues } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import { type CorsSettings, fastifyCorsOptions } from "./cors.js";
import { createErrorMappingInterceptor } from "./errors.js";
import { createOnePortFastify } from "./one-port-server.js";
import { requestLogKey, requestLogOf } from "./request-log.js";

export interface ConnectAppOptions {
  serviceName: string;
  routes: (router: ConnectRouter) => void;
  logLevel: string;
  /** Log every request (fastify's own request/response lines); off by default: they cost CPU per call. */
  logRequests: boolean;
  /** Largest request message accepted, in bytes (Connect's readMaxBytes). */
  readMaxBytes: number;
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Browser origins allowed to call (none when not given). */
  cors?: CorsSettings | undefined;
}

// Only echo a caller's request id when it is a plain token: it lands in logs and headers.
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A fastify app on ONE port (HTTP/1.1 and HTTP/2, see one-port-server.ts) that
 * serves the given Connect routes over Connect, gRPC and gRPC-Web, with request
 * ids, error mapping, CORS for browsers on the configured origins, and GET /healthz.
 */
export async function createConnectApp(options: ConnectAppOptions): Promise<FastifyInstance> {
  const app = createOnePortFastify({
    logger: { level: options.logLevel, base: { service: options.serviceName } },
    disableRequestLogging: !options.logRequests,
    tls: options.tls,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && requestIdPattern.test(given) ? given : randomUUID();
    },
  });
  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-request-id", req.id);
  });
  // Before the routes, so that preflights are answered in its onRequest hook for every path.
  await app.register(fastifyCors, fastifyCorsOptions(options.cors ?? { allowedOrigins: [], maxAgeSeconds: 0 }));
  app.get("/healthz", async () => ({ status: "ok", service: options.serviceName }));
  await app.register(fastifyConnectPlugin, {
    routes: options.routes,
    readMaxBytes: options.readMaxBytes,
    interceptors: [createErrorMappingInterceptor()],
    contextValues: (req) => createContextValues().set(requestLogKey, requestLogOf(req)),
  });
  return app;
}
