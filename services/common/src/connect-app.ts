import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { ConnectRouter, ContextValues, Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import fastifyCors from "@fastify/cors";
import { file_google_rpc_error_details } from "@pos/gen/google/rpc/error_details_pb.js";
import { Health as HealthService } from "@pos/gen/health/v1/health_pb.js";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { createAuthInterceptor } from "./auth/interceptor.js";
import type { ServerAuth } from "./auth/server-auth.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { type CorsSettings, fastifyCorsOptions } from "./cors.js";
import { createErrorMappingInterceptor } from "./errors.js";
import { createHealth, createHealthService, type Health, ServingStatus } from "./health.js";
import { createLimitLog } from "./limit-log.js";
import {
  createServerMetricsInterceptor,
  createTlsHandshakeFailureCounter,
  httpVersionKey,
  httpVersionOf,
} from "./metrics.js";
import {
  type ClosingHandlers,
  createOnePortFastify,
  type FrontHandler,
  type OnePortTls,
  type StreamFrontHandler,
} from "./one-port-server.js";
import { type PeerIdentity, peerIdentityKey, peerIdentityOf } from "./peer-identity.js";
import { frameError, rpcProtocolOf, writeFramedError, writeFramedErrorOnStream } from "./protocol-error.js";
import { replyNotFoundInProtocol } from "./protocol-not-found.js";
import { createRateLimits, type RateLimitSettings } from "./rate-limit.js";
import { type Caller, createFailedAuthInterceptor, createRateLimitInterceptor } from "./rate-limit-interceptors.js";
import { registerReflection } from "./reflection.js";
import { remoteAddressKey } from "./remote-address.js";
import { createRequestLog, type RequestLog, requestLogKey, requestLogOf } from "./request-log.js";
import { createStringBoundsInterceptor } from "./string-bounds.js";
import type { Tracing } from "./tracing.js";
import { createUnaryFastPath } from "./unary-fast-path.js";
import { routerWithFastPath } from "./unary-routes.js";

/** A request as observeRequest sees it: an HTTP/1.1 or HTTP/2 request, or an HTTP/2 stream's headers. */
export interface SeenRequest {
  httpVersion: string;
  method?: string | undefined;
  url?: string | undefined;
  headers: http.IncomingHttpHeaders;
}

export interface ConnectAppOptions {
  serviceName: string;
  routes: (router: ConnectRouter) => void;
  logLevel: string;
  /** Log every request (fastify's own request/response lines); off by default: they cost CPU per call. */
  logRequests: boolean;
  /** Largest request message accepted, in bytes (Connect's readMaxBytes). */
  readMaxBytes: number;
  /** Answer plain unary calls on the fast path (unary-fast-path.ts); false sends every call through connect-fastify. */
  unaryFastPath?: boolean;
  /** Sees every request before either path takes it (tests use it to prove what went over the wire). */
  observeRequest?: (req: SeenRequest) => void;
  /** TLS (and mTLS: the verified client certificate's identity is the context value peerIdentityKey). */
  tls?: OnePortTls | undefined;
  /**
   * Responses at least this large are compressed when the client accepts gzip/br (Connect's
   * compressMinBytes, default 1 KiB). Compressing costs CPU per call, worth it only off a LAN.
   */
  compressMinBytes?: number | undefined;
  /** Browser origins allowed to call (none when not given). */
  cors?: CorsSettings | undefined;
  /** Prometheus registry served on GET /metrics, with the RPC histograms added; no metrics when undefined. */
  metrics?: Registry | undefined;
  /** Spans per RPC (see tracing.ts); off when undefined. */
  tracing?: Tracing | undefined;
  /** Who may call what: every RPC but health and reflection needs a credential its policy accepts. */
  auth: Pick<ServerAuth, "authenticator" | "policy">;
  /** Connection, header and HTTP/2 stream bounds of the listener (connection-limits.ts); defaults where not given. */
  connectionLimits?: Partial<ConnectionLimits> | undefined;
  /** Per-caller rate limits and failed-authentication limits (rate-limit.ts); none when not given. */
  rateLimits?: RateLimitSettings | undefined;
  /** Whom a call counts against, instead of callerOf (rate-limit-interceptors.ts): for tests. */
  rateLimitCaller?: ((req: UnaryRequest | StreamRequest) => Caller | undefined) | undefined;
  /** Longest string accepted in any field of any request (string-bounds.ts); 2048 characters when not given. */
  stringMaxChars?: number | undefined;
  /** The serving status (stores reachable, not shutting down); a probe-less one when not given. */
  health?: Health | undefined;
  /** On close, how long in-flight calls may take before their connections are cut (see run-service.ts). */
  closeGraceMs?: number | undefined;
}

// Only echo a caller's request id when it is a plain token: it lands in logs and headers.
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === "string" && requestIdPattern.test(given) ? given : randomUUID();
}

/**
 * A fastify app on ONE port (HTTP/1.1 and HTTP/2, see one-port-server.ts) that
 * serves the given Connect routes over Connect, gRPC and gRPC-Web, with request
 * ids, error mapping, CORS for browsers on the configured origins, grpc.health.v1.Health, server
 * reflection (v1 and v1alpha), GET /healthz (liveness) and GET /readyz (readiness: the health status).
 * Plain unary calls take the fast path in front of fastify (unary-fast-path.ts); everything else goes
 * through connect-fastify. Both run the same implementations with the same interceptors and context
 * values, composed once below.
 */
export async function createConnectApp(options: ConnectAppOptions): Promise<FastifyInstance> {
  // THE interceptors and per-call context values of every call, whichever path serves it. Fastify
  // hooks do not see calls on the fast path: cross-cutting behaviour for RPCs belongs in this list.
  // Outermost first: the span covers everything, metrics see the code the client gets (after error
  // mapping, which gives every error its details). They read only the request and context values,
  // so both paths behave the same. The string bound runs last, just before the implementation.
  const metrics = options.metrics;
  const limitLog = createLimitLog((fields, message) => app.log.warn(fields, message));
  const rateLimits =
    options.rateLimits === undefined
      ? undefined
      : {
          limits: await createRateLimits(options.rateLimits, options.serviceName),
          tiers: options.rateLimits.tiers,
          windowSeconds: options.rateLimits.windowSeconds,
          // Health answers load balancers and probes, which must never see a refusal as "down".
          exempt: new Set([HealthService.typeName]),
          ...(options.rateLimitCaller !== undefined && { callerOf: options.rateLimitCaller }),
        };
  const interceptors: Interceptor[] = [
    ...(options.tracing?.serverInterceptors ?? []),
    ...(metrics === undefined ? [] : [createServerMetricsInterceptor(metrics)]),
    createErrorMappingInterceptor(),
    // Around authentication: an address that keeps failing it is refused before its credentials are checked.
    ...(rateLimits === undefined ? [] : [createFailedAuthInterceptor(rateLimits.limits, limitLog)]),
    // THE authentication and authorization (auth/interceptor.ts): the principal the rate limits key on.
    createAuthInterceptor(options.auth),
    ...(rateLimits === undefined ? [] : [createRateLimitInterceptor({ ...rateLimits, log: limitLog })]),
    createStringBoundsInterceptor(options.stringMaxChars),
  ];
  // Only a server that asks for client certificates can have a peer identity: others skip the lookup.
  const withPeers = options.tls !== undefined && (options.tls.clientAuth ?? "none") !== "none";
  const contextValuesFor = (
    log: RequestLog,
    nodeHttpVersion: string,
    peer: () => PeerIdentity | undefined,
    remoteAddress: () => string | undefined,
  ): ContextValues => {
    const values = createContextValues().set(requestLogKey, log).set(httpVersionKey, httpVersionOf(nodeHttpVersion));
    if (rateLimits !== undefined) values.set(remoteAddressKey, remoteAddress());
    return withPeers ? values.set(peerIdentityKey, peer()) : values;
  };
  const handlerOptions = {
    readMaxBytes: options.readMaxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    ...(options.compressMinBytes !== undefined && { compressMinBytes: options.compressMinBytes }),
  };

  // Fastify's per-request log lines need fastify's request: with them on, everything goes through it.
  const fastPath =
    options.unaryFastPath === false || options.logRequests
      ? undefined
      : createUnaryFastPath({
          handlerOptions,
          interceptors,
          requestId: requestIdFrom,
          contextValues: (requestId, nodeHttpVersion, peer, remoteAddress) =>
            contextValuesFor(createRequestLog(app.log, requestId), nodeHttpVersion, peer, remoteAddress),
        });
  const observe = options.observeRequest;
  let front: FrontHandler | undefined = fastPath?.handle;
  // HTTP/2 streams are offered to the fast path before Node builds a request/response pair for them.
  let frontStream: StreamFrontHandler | undefined = fastPath?.handleStream;
  if (observe !== undefined) {
    const next = front;
    front = (req, res) => {
      observe(req);
      return next?.(req, res) ?? false;
    };
    const nextStream = frontStream;
    if (nextStream !== undefined) {
      frontStream = (stream, headers) => {
        observe({ httpVersion: "2.0", method: headers[":method"], url: headers[":path"], headers });
        return nextStream(stream, headers);
      };
    }
  }
  const closing = refuseWhileClosing(options.serviceName, requestIdFrom);
  const app = createOnePortFastify({
    logger: { level: options.logLevel, base: { service: options.serviceName } },
    disableRequestLogging: !options.logRequests,
    tls: options.tls,
    onTlsHandshakeError:
      options.tls === undefined || metrics === undefined ? undefined : createTlsHandshakeFailureCounter(metrics),
    genReqId: (req) => requestIdFrom(req.headers["x-request-id"]),
    front,
    frontStream,
    whileClosing: closing.handlers,
    ...(options.closeGraceMs !== undefined && { closeGraceMs: options.closeGraceMs }),
    limits: options.connectionLimits,
  });
  if (rateLimits !== undefined) app.addHook("onClose", () => rateLimits.limits.close());
  app.addHook("onClose", async () => {
    if (closing.refused() > 0) app.log.info({ refused: closing.refused() }, "calls refused while shutting down");
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
  if (metrics !== undefined) {
    app.get("/metrics", async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  }
  // Unknown services and methods answer in the caller's protocol (gRPC: grpc-status 12), not fastify's JSON 404.
  app.setNotFoundHandler((req, reply) => replyNotFoundInProtocol(req, reply));
  await app.register(fastifyConnectPlugin, {
    routes: (connectRouter) => {
      // The services are registered once; unary methods also reach the fast path through this router.
      const router = fastPath === undefined ? connectRouter : routerWithFastPath(connectRouter, fastPath);
      options.routes(router);
      health.addServices(router.handlers.map((h) => h.service.typeName));
      router.service(HealthService, createHealthService(health));
      // Open, like the health service: it tells what the schema in this repository already says.
      // Once authentication exists it stays open (see README: reflection).
      // The error details' types too, so grpcurl and buf curl can print the details they receive.
      registerReflection(router, () => router.handlers.map((h) => h.service), [file_google_rpc_error_details]);
    },
    ...handlerOptions,
    interceptors,
    // fastify's own request logger: with LOG_REQUESTS its request lines carry what tracing binds too.
    contextValues: (req) =>
      contextValuesFor(
        requestLogOf(req),
        req.raw.httpVersion,
        () => peerIdentityOf(req.raw),
        () => req.raw.socket.remoteAddress,
      ),
  });
  return app;
}

/**
 * RPCs that arrive while the app closes (on connections still open) are answered `unavailable` in
 * their own protocol's framing, never served and never met by a bare close, so a client knows that
 * nothing was done and may retry elsewhere. Anything else (probes, /metrics) is served as usual.
 */
function refuseWhileClosing(
  serviceName: string,
  requestId: (given: string | string[] | undefined) => string,
): { handlers: ClosingHandlers; refused(): number } {
  let refused = 0;
  const error = new ConnectError(`${serviceName} is shutting down; retry`, Code.Unavailable);
  return {
    refused: () => refused,
    handlers: {
      request(req, res) {
        const type = req.headers["content-type"];
        const protocol = rpcProtocolOf(req.method ?? "", req.url ?? "", type);
        if (protocol === undefined) return false;
        refused++;
        const extra: Record<string, string> = { "x-request-id": requestId(req.headers["x-request-id"]) };
        if (req.httpVersionMajor < 2) extra.connection = "close";
        writeFramedError(res, frameError(protocol, type, error), extra);
        return true;
      },
      stream(stream, headers) {
        const type = headers["content-type"];
        const protocol = rpcProtocolOf(headers[":method"] ?? "", headers[":path"] ?? "", type);
        if (protocol === undefined) return false;
        refused++;
        // The stream is answered, but nobody reads what the client still sends on it.
        stream.on("error", () => {});
        writeFramedErrorOnStream(stream, frameError(protocol, type, error), {
          "x-request-id": requestId(headers["x-request-id"]),
        });
        return true;
      },
    },
  };
}
