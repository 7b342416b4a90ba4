import type { DescMessage } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

/** One unary method as the fast path serves it: connect-es' own implementation spec. */
export type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

/** What a protocol read from the wire about a call, before the implementation runs. */
export interface CallInit {
  protocolName: "connect" | "grpc" | "grpc-web";
  requestMethod: string;
  /** Raw request headers as Node gives them (HTTP/2 pseudo-headers included; they are skipped). */
  rawHeaders: Record<string, string | string[] | undefined>;
  /** Builds the request URL when someone asks for it. */
  url: () => string;
  timeoutMs: number | undefined;
  contextValues: ContextValues;
  /** Starts watching for the client going away; called when the call's signal is first asked for. */
  onClientGone: (abort: (reason: unknown) => void) => void;
}

/** The state of one call that the response writer needs afterwards. */
export interface CallState {
  /** Response headers and trailers, created only when an interceptor or the handler touches them. */
  responseHeader: Headers | undefined;
  responseTrailer: Headers | undefined;
  /** Aborts the call's signal (client gone, deadline) if anyone asked for it. */
  abort(reason: unknown): void;
  /** Ends the call: clears its deadline timer and, as connect-es does, aborts its signal if it exists. */
  finish(): void;
}

// As connect-es, the signal is aborted when the call completes; one shared reason instead of a
// DOMException (with a captured stack) per call.
const completed = new DOMException("The operation was aborted.", "AbortError");

/**
 * Runs one unary call through the interceptors and the implementation, with the same request and
 * context shapes connect-es builds (see its invokeUnaryImplementation), but lazily: the request
 * Headers, the AbortSignal and the response Headers are created only when something reads them,
 * which on the hot path is nothing. The deadline is enforced through the signal, as in connect-es.
 */
export function runUnaryCall(
  spec: UnarySpec,
  init: CallInit,
  input: unknown,
  interceptors: readonly Interceptor[],
): { state: CallState; output: Promise<unknown> } {
  const started = Date.now();
  let requestHeader: Headers | undefined;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let url: string | undefined;
  const state: CallState = {
    responseHeader: undefined,
    responseTrailer: undefined,
    abort(reason) {
      if (timer !== undefined) clearTimeout(timer);
      if (controller !== undefined && !controller.signal.aborted) controller.abort(reason);
    },
    finish() {
      state.abort(completed);
    },
  };
  const signal = (): AbortSignal => {
    if (controller === undefined) {
      controller = new AbortController();
      init.onClientGone((reason) => state.abort(reason));
      const left = timeoutMs();
      if (left !== undefined) {
        const expire = () => controller?.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
        if (left <= 0) expire();
        else timer = setTimeout(expire, left);
      }
    }
    return controller.signal;
  };
  const header = (): Headers => {
    requestHeader ??= new NodeRequestHeaders(init.rawHeaders);
    return requestHeader;
  };
  const timeoutMs = (): number | undefined =>
    init.timeoutMs === undefined ? undefined : started + init.timeoutMs - Date.now();
  const responseHeader = (): Headers => {
    state.responseHeader ??= new Headers();
    return state.responseHeader;
  };
  const responseTrailer = (): Headers => {
    state.responseTrailer ??= new Headers();
    return state.responseTrailer;
  };
  const service = spec.method.parent;

  const last = async (req: UnaryRequest): Promise<UnaryResponse> => {
    // The handler sees what the interceptors passed on (as connect-es' mergeRequest does).
    const context: HandlerContext = {
      method: spec.method,
      service: req.service,
      protocolName: init.protocolName,
      requestMethod: req.requestMethod,
      timeoutMs,
      get url() {
        return req.url;
      },
      get signal() {
        return req.signal;
      },
      get requestHeader() {
        return req.header;
      },
      get responseHeader() {
        return responseHeader();
      },
      get responseTrailer() {
        return responseTrailer();
      },
      values: req.contextValues,
    };
    const message = create(spec.method.output as DescMessage, await spec.impl(req.message as never, context));
    ours = {
      stream: false,
      service,
      method: spec.method,
      message,
      get header() {
        return responseHeader();
      },
      get trailer() {
        return responseTrailer();
      },
    } as UnaryResponse;
    return ours;
  };
  let ours: UnaryResponse | undefined;
  let next = last as (req: UnaryRequest) => Promise<UnaryResponse>;
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next as never) as never;

  const request = {
    stream: false as const,
    service,
    method: spec.method,
    requestMethod: init.requestMethod,
    message: input,
    contextValues: init.contextValues,
    get url() {
      url ??= init.url();
      return url;
    },
    get signal() {
      return signal();
    },
    get header() {
      return header();
    },
  } as unknown as UnaryRequest;
  const output = next(request).then((res) => {
    // An interceptor may answer with a response of its own: its headers and trailers are the call's.
    if (res !== ours) {
      state.responseHeader = res.header;
      state.responseTrailer = res.trailer;
    }
    return res.message;
  });
  return { state, output };
}

type RawHeaders = Record<string, string | string[] | undefined>;

/**
 * Node's request headers as Fetch Headers, without HTTP/2 pseudo-headers (as connect-node does),
 * filled only when needed: get() and has() read Node's object directly, so an interceptor that
 * looks at one header (metrics: content-type; credentials) costs no copy of them all. Anything
 * else (iteration, changes) fills the real Headers first and then behaves as Headers does.
 */
export class NodeRequestHeaders extends Headers {
  #raw: RawHeaders | undefined;

  constructor(raw: RawHeaders) {
    super();
    this.#raw = raw;
  }

  #fill(): void {
    const raw = this.#raw;
    if (raw === undefined) return;
    this.#raw = undefined;
    for (const key in raw) {
      if (key.charCodeAt(0) === 58 /* ":" */) continue;
      const value = raw[key];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) super.append(key, v);
      else super.append(key, value);
    }
  }

  /** Node's value for a (valid, non-pseudo) header name, or undefined when Headers must answer. */
  #rawValue(name: string): string | null | undefined {
    const raw = this.#raw;
    if (raw === undefined || name.charCodeAt(0) === 58) return undefined;
    const value = raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
  }

  override get(name: string): string | null {
    const value = this.#rawValue(name);
    return value !== undefined ? value : super.get(name);
  }

  override has(name: string): boolean {
    const value = this.#rawValue(name);
    return value !== undefined ? value !== null : super.has(name);
  }

  override append(name: string, value: string): void {
    this.#fill();
    super.append(name, value);
  }

  override set(name: string, value: string): void {
    this.#fill();
    super.set(name, value);
  }

  override delete(name: string): void {
    this.#fill();
    super.delete(name);
  }

  override getSetCookie(): string[] {
    this.#fill();
    return super.getSetCookie();
  }

  override forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#fill();
    super.forEach(callback, thisArg);
  }

  override entries(): HeadersIterator<[string, string]> {
    this.#fill();
    return super.entries();
  }

  override keys(): HeadersIterator<string> {
    this.#fill();
    return super.keys();
  }

  override values(): HeadersIterator<string> {
    this.#fill();
    return super.values();
  }

  override [Symbol.iterator](): HeadersIterator<[string, string]> {
    this.#fill();
    return super[Symbol.iterator]();
  }
}
