import { createContextKey } from "@connectrpc/connect";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";

/** The request's logger (a child of the service logger, bound to the request id). */
export interface RequestLog {
  readonly requestId: string;
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** Adds fields to this and every later line of the request (tracing binds trace_id and span_id). */
  bind(fields: Record<string, string>): void;
}

const silent: RequestLog = { requestId: "none", debug() {}, warn() {}, error() {}, bind() {} };

/** Handlers and interceptors read the request's logger through this key. */
export const requestLogKey = createContextKey<RequestLog>(silent, { description: "request log" });

/**
 * The request's logger under `service` as fastify names it (a child bound to reqId), made only
 * when something is logged: most calls log nothing. One object per call, methods shared.
 */
export function createRequestLog(service: FastifyBaseLogger, requestId: string): RequestLog {
  return new LazyRequestLog(service, requestId);
}

class LazyRequestLog implements RequestLog {
  #child: FastifyBaseLogger | undefined;
  #bound: Record<string, string> | undefined;

  constructor(
    private readonly service: FastifyBaseLogger,
    readonly requestId: string,
  ) {}

  #log(): FastifyBaseLogger {
    this.#child ??= this.service.child(this.#bound ?? { reqId: this.requestId });
    return this.#child;
  }

  debug(obj: object, msg: string): void {
    this.#log().debug(obj, msg);
  }

  warn(obj: object, msg: string): void {
    this.#log().warn(obj, msg);
  }

  error(obj: object, msg: string): void {
    this.#log().error(obj, msg);
  }

  bind(fields: Record<string, string>): void {
    this.#bound = { ...(this.#bound ?? { reqId: this.requestId }), ...fields };
    this.#child = undefined;
  }
}

export function requestLogOf(req: FastifyRequest): RequestLog {
  const log: FastifyBaseLogger = req.log;
  return {
    requestId: req.id,
    debug: (obj, msg) => log.debug(obj, msg),
    warn: (obj, msg) => log.warn(obj, msg),
    error: (obj, msg) => log.error(obj, msg),
    // pino's child loggers can take more bindings; fastify's logger type does not say so.
    bind: (fields) => (log as FastifyBaseLogger & { setBindings?(b: object): void }).setBindings?.(fields),
  };
}
