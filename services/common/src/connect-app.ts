import { randomUUID } from "node:crypto";
import type { ConnectRouter } from "@connectrpc/connect";
import { createContextValues } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import { Health as HealthService } from "@pos/gen/health/v1/health_pb.js";
import type { FastifyInstance } from "fastify";
import { type CorsSettings, fastifyCorsOptions } from "./cors.js";
import { createErrorMappingInterceptor } from "./errors.js";
import { createHealth, createHealthService, type Health, ServingStatus } from "./health.js";
import { createOnePortFastify } from "./one-port-server.js";
import { registerReflection } from "./reflection.js";
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
  /**
   * Responses at least this large are compressed when the client accepts gzip/br (Connect's
   * compressMinBytes, default 1 KiB). Compressing costs CPU per call, worth it only off a LAN.
   */
  compressMinBytes?: number | undefined;
  /** Browser origins allowed to call (none when not given). */
  cors?: CorsSettings | undefined;
  /** The serving status (stores reachable, not shutting down); a probe-less one when not given. */
  health?: Health | undefined;
}

// Only echo a caller's request id when it is a plain token: it lands in logs and headers.
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A fastify app on ONE port (HTTP/1.1 and HTTP/2, see one-port-server.ts) that
 * serves the given Connect routes over Connect, gRPC and gRPC-Web, with request
 * ids, error mapping, CORS for browsers on the configured origins, grpc.health.v1.Health, server
 * reflection (v1 and v1alpha), GET /healthz (liveness) and GET /readyz (readiness: the health status).
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
  const health = options.health ?? createHealth();
  // Liveness: the process answers. Readiness: it can serve (stores reachable, not shutting down).
  app.get("/healthz", async () => ({ status: "ok", service: options.serviceName }));
  app.get("/readyz", async (_req, reply) => {
    const status = health.status("") ?? ServingStatus.UNKNOWN;
    const serving = status === ServingStatus.SERVING;
    return reply
      .code(serving ? 200 : 503)
      .send({ status: ServingStatus[status], service: options.serviceName, failing: health.failing() });
  });
  await app.register(fastifyConnectPlugin, {
    routes: (router) => {
      options.routes(router);
      health.addServices(router.handlers.map((h) => h.service.typeName));
      router.service(HealthService, createHealthService(health));
      // Open, like the health service: it tells what the schema in this repository already says.
      // Once authentication exists it stays open (see README: reflection).
      registerReflection(router, () => router.handlers.map((h) => h.service));
    },
    readMaxBytes: options.readMaxBytes,
    ...(options.compressMinBytes !== undefined && { compressMinBytes: options.compressMinBytes }),
    interceptors: [createErrorMappingInterceptor()],
    contextValues: (req) => createContextValues().set(requestLogKey, requestLogOf(req)),
  });
  return app;
}
