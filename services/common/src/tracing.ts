import { ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { codeName, httpVersionKey, protocolOf } from "./metrics.js";
import { requestLogKey } from "./request-log.js";

export interface TracingSettings {
  /** OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); unset = tracing off, nothing installed. */
  otlpEndpoint: string | undefined;
  /** Share of new traces kept (OTEL_TRACES_SAMPLER_ARG); a sampled caller's decision is followed. */
  sampleRatio: number;
}

/** Tracing as the rest of the code sees it: a no-op when off, so callers never ask. */
export interface Tracing {
  readonly enabled: boolean;
  /** Server interceptors: a SERVER span per RPC, continuing the caller's W3C traceparent. */
  serverInterceptors: Interceptor[];
  /** Client interceptors for a transport: a CLIENT span per attempt, traceparent sent along. */
  clientInterceptors(transport: { protocol: string; httpVersion: string }): Interceptor[];
  /**
   * The object with every method call inside a request wrapped in a child span (`${name}.${method}`);
   * the object itself when off.
   */
  traceMethods<T extends object>(target: T, name: string, attributes?: Record<string, string>): T;
  /** Flushes spans not yet exported. */
  shutdown(): Promise<void>;
}

export const tracingOff: Tracing = {
  enabled: false,
  serverInterceptors: [],
  clientInterceptors: () => [],
  traceMethods: (target) => target,
  shutdown: async () => undefined,
};

/** Tracing per the settings: off (the default) installs nothing and costs nothing. */
export function createTracing(serviceName: string, settings: TracingSettings, exporter?: SpanExporter): Tracing {
  const endpoint = settings.otlpEndpoint;
  if (endpoint === undefined && exporter === undefined) return tracingOff;
  const spanExporter = exporter ?? new OTLPTraceExporter({ url: `${endpoint?.replace(/\/+$/, "")}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter, scheduledDelayMillis: 500 })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer("@pos/common");
  return {
    enabled: true,
    serverInterceptors: [serverSpans(tracer)],
    clientInterceptors: (transport) => [clientSpans(tracer, transport)],
    traceMethods: (target, name, attributes = {}) => traceMethods(tracer, target, name, attributes),
    async shutdown() {
      await provider.shutdown();
    },
  };
}

const headerGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};
const headerSetter: TextMapSetter<Headers> = { set: (h, key, value) => h.set(key, value) };

/** rpc.system per OpenTelemetry's RPC conventions. */
const rpcSystem = (protocol: string) => (protocol === "connect" ? "connect_rpc" : "grpc");

function serverSpans(tracer: Tracer): Interceptor {
  return (next) => async (req) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headerGetter);
    const protocol = protocolOf(req.header);
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": rpcSystem(protocol),
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          "rpc.protocol": protocol,
          "network.protocol.version": req.contextValues.get(httpVersionKey),
        },
      },
      parent,
    );
    // Every later log line of this request names the trace (request ids stay for untraced requests).
    const { traceId, spanId } = span.spanContext();
    req.contextValues.get(requestLogKey).bind({ trace_id: traceId, span_id: spanId });
    return runInSpan(span, trace.setSpan(parent, span), () => next(req));
  };
}

function clientSpans(tracer: Tracer, transport: { protocol: string; httpVersion: string }): Interceptor {
  return (next) => async (req) => {
    const span = tracer.startSpan(`${req.service.typeName}/${req.method.name}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": rpcSystem(transport.protocol),
        "rpc.service": req.service.typeName,
        "rpc.method": req.method.name,
        "rpc.protocol": transport.protocol,
        "network.protocol.version": transport.httpVersion,
      },
    });
    const ctx = trace.setSpan(context.active(), span);
    propagation.inject(ctx, req.header, headerSetter);
    return runInSpan(span, ctx, () => next(req));
  };
}

/** Runs `call` with `span` active; ends it with the call (a stream: with its last message). */
async function runInSpan<R extends { stream: boolean; message: unknown }>(
  span: Span,
  ctx: Context,
  call: () => Promise<R>,
): Promise<R> {
  const end = (e?: unknown) => {
    if (e === undefined) {
      span.setAttribute("rpc.code", "ok");
    } else {
      const err = ConnectError.from(e);
      span.setAttribute("rpc.code", codeName(err.code));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.rawMessage });
    }
    span.end();
  };
  try {
    const res = await context.with(ctx, call);
    if (!res.stream) {
      end();
      return res;
    }
    return { ...res, message: endWithStream(res.message as AsyncIterable<unknown>, end) } as R;
  } catch (e) {
    end(e);
    throw e;
  }
}

async function* endWithStream<T>(messages: AsyncIterable<T>, end: (e?: unknown) => void): AsyncIterable<T> {
  let error: unknown;
  try {
    yield* messages;
  } catch (e) {
    error = e;
    throw e;
  } finally {
    end(error);
  }
}

function traceMethods<T extends object>(
  tracer: Tracer,
  target: T,
  name: string,
  attributes: Record<string, string>,
): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      if (typeof value !== "function" || typeof key !== "string") return value;
      return (...args: unknown[]) =>
        // Only as part of a request: health pings and start-up work would each be a trace of their own.
        trace.getActiveSpan() === undefined
          ? (value as (...a: unknown[]) => unknown).apply(obj, args)
          : tracer.startActiveSpan(`${name}.${key}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
              try {
                return await (value as (...a: unknown[]) => unknown).apply(obj, args);
              } catch (e) {
                span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
                throw e;
              } finally {
                span.end();
              }
            });
    },
  });
}
