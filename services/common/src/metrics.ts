import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** The HTTP version a request came in on ("1.1", "2"), as the server in front saw it. */
export const httpVersionKey = createContextKey<string>("unknown", { description: "HTTP version of the request" });

/** Node says "2.0" for HTTP/2; OpenTelemetry's network.protocol.version (and cart's transport config) say "2". */
export function httpVersionOf(nodeHttpVersion: string): string {
  return nodeHttpVersion === "2.0" ? "2" : nodeHttpVersion;
}

export type RpcProtocol = "connect" | "grpc" | "grpc-web";

/** The protocol of a request, from its content type (Connect GET has none). */
export function protocolOf(header: Headers): RpcProtocol {
  const type = header.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

// Connect's code names ("not_found"), the same words the Connect protocol puts on the wire.
const codeNames = new Map<Code | "ok", string>([["ok", "ok"]]);
for (const [name, value] of Object.entries(Code)) {
  if (typeof value === "number")
    codeNames.set(
      value,
      name.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase()),
    );
}
export const codeName = (code: Code | "ok"): string => codeNames.get(code) ?? "unknown";

// Seconds; from 250 µs (a cached read on loopback) to 10 s (a timed-out store).
const durationBuckets = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const rpcLabels = ["rpc_service", "rpc_method", "rpc_protocol", "http_version", "rpc_code"] as const;

/** A registry with the process and event-loop metrics prom-client collects by itself. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * tls_handshake_failures_total by OpenSSL's reason (ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE, …):
 * refused client certificates and broken handshakes, which are only logged at debug.
 */
export function createTlsHandshakeFailureCounter(registry: Registry): (reason: string) => void {
  const counter = new Counter({
    name: "tls_handshake_failures_total",
    help: "TLS handshakes that failed (refused client certificates included), by OpenSSL's reason code",
    labelNames: ["reason"],
    registers: [registry],
  });
  return (reason) => counter.inc({ reason });
}

/**
 * rpc_server_call_duration_seconds for every RPC this server answers. Put it inside the error
 * mapping's caller (after it in the interceptor list is wrong): it must see the code the client gets.
 */
export function createServerMetricsInterceptor(registry: Registry): Interceptor {
  const histogram = new Histogram({
    name: "rpc_server_call_duration_seconds",
    help: "Duration of RPCs this server answered, until the last response message; _count is the number of RPCs",
    labelNames: rpcLabels,
    buckets: durationBuckets,
    registers: [registry],
  });
  return timed(histogram, (req) => ({
    rpc_protocol: protocolOf(req.header),
    http_version: req.contextValues.get(httpVersionKey),
  }));
}

/**
 * rpc_client_call_duration_seconds for every attempt a client sends (retries are attempts), labelled
 * with what the transport speaks: put it on the transport.
 */
export function createClientMetricsInterceptor(
  registry: Registry,
  transport: { protocol: RpcProtocol; httpVersion: string },
): Interceptor {
  const histogram = new Histogram({
    name: "rpc_client_call_duration_seconds",
    help: "Duration of RPC attempts this process sent, until the response (last message of a stream); _count is attempts",
    labelNames: rpcLabels,
    buckets: durationBuckets,
    registers: [registry],
  });
  const wire = { rpc_protocol: transport.protocol, http_version: transport.httpVersion };
  return timed(histogram, () => wire);
}

type RpcRequest = Parameters<Parameters<Interceptor>[0]>[0];

/** Observes one RPC (the last message of a stream, or its error) in `histogram`, labelled by code. */
function timed(
  histogram: Histogram<(typeof rpcLabels)[number]>,
  wireOf: (req: RpcRequest) => { rpc_protocol: RpcProtocol; http_version: string },
): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const base = { rpc_service: req.service.typeName, rpc_method: req.method.name, ...wireOf(req) };
    const done = (code: Code | "ok") =>
      histogram.observe({ ...base, rpc_code: codeName(code) }, (performance.now() - started) / 1000);
    try {
      const res = await next(req);
      if (!res.stream) {
        done("ok");
        return res;
      }
      return { ...res, message: observeStream(res.message, done) };
    } catch (e) {
      done(ConnectError.from(e).code);
      throw e;
    }
  };
}

async function* observeStream<T>(messages: AsyncIterable<T>, done: (code: Code | "ok") => void): AsyncIterable<T> {
  // A stream the reader abandons ends as canceled.
  let code: Code | "ok" = Code.Canceled;
  try {
    yield* messages;
    code = "ok";
  } catch (e) {
    code = ConnectError.from(e).code;
    throw e;
  } finally {
    done(code);
  }
}
