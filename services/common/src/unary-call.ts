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
 *
 * The request, context and response are class instances with methods and getters on their
 * prototypes, not object literals or closures made per call: an object V8 puts in old space keeps
 * the young objects it points to alive through every minor GC until the next full one, and with
 * them the whole call. V8 pretenures literals of allocation sites whose objects survived
 * (docs/decisions/0001, "GC"), and its parser pretenures every function literal assigned to a
 * property (`this.timeoutMs = () => …` here until 2026-12: each call's context then survived two
 * scavenges and was promoted; master-data's scavenges kept ~5 MB each and paused ~11 ms, ~5 KB and
 * ~0.9 ms without; see no-property-closures.test.ts).
 */
export function runUnaryCall(
  spec: UnarySpec,
  init: CallInit,
  input: unknown,
  interceptors: readonly Interceptor[],
): { state: CallState; output: Promise<unknown> } {
  const call = new UnaryCall(spec, init);
  let next = (req: UnaryRequest): Promise<UnaryResponse> => call.invoke(req);
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next as never) as never;
  const output = next(new FastRequest(call, input) as unknown as UnaryRequest).then((res) => call.settle(res));
  return { state: call, output };
}

/** One call's state: what the request, context and response objects read through their getters. */
class UnaryCall implements CallState {
  responseHeader: Headers | undefined = undefined;
  responseTrailer: Headers | undefined = undefined;
  readonly started = Date.now();
  requestHeader: Headers | undefined = undefined;
  controller: AbortController | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  urlText: string | undefined = undefined;
  ours: FastResponse | undefined = undefined;

  constructor(
    readonly spec: UnarySpec,
    readonly init: CallInit,
  ) {}

  abort(reason: unknown): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.controller !== undefined && !this.controller.signal.aborted) this.controller.abort(reason);
  }

  finish(): void {
    this.abort(completed);
  }

  signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      this.init.onClientGone((reason) => this.abort(reason));
      const left = this.timeoutMs();
      if (left !== undefined) {
        const expire = () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
        if (left <= 0) expire();
        else this.timer = setTimeout(expire, left);
      }
    }
    return this.controller.signal;
  }

  header(): Headers {
    this.requestHeader ??= new NodeRequestHeaders(this.init.rawHeaders);
    return this.requestHeader;
  }

  url(): string {
    this.urlText ??= this.init.url();
    return this.urlText;
  }

  timeoutMs(): number | undefined {
    return this.init.timeoutMs === undefined ? undefined : this.started + this.init.timeoutMs - Date.now();
  }

  responseHeaders(): Headers {
    this.responseHeader ??= new Headers();
    return this.responseHeader;
  }

  responseTrailers(): Headers {
    this.responseTrailer ??= new Headers();
    return this.responseTrailer;
  }

  /** The end of the interceptor chain: the handler sees what the interceptors passed on (as connect-es' mergeRequest does). */
  async invoke(req: UnaryRequest): Promise<UnaryResponse> {
    const context = new FastContext(this, req) as unknown as HandlerContext;
    const result = await this.spec.impl(req.message as never, context);
    this.ours = new FastResponse(this, create(this.spec.method.output as DescMessage, result));
    return this.ours as unknown as UnaryResponse;
  }

  /** An interceptor may answer with a response of its own: its headers and trailers are the call's. */
  settle(res: UnaryResponse): unknown {
    if (res !== (this.ours as unknown)) {
      this.responseHeader = res.header;
      this.responseTrailer = res.trailer;
    }
    return res.message;
  }
}

/** The UnaryRequest interceptors see (connect-es' shape). */
class FastRequest {
  readonly stream = false;
  readonly service: UnarySpec["method"]["parent"];
  readonly method: UnarySpec["method"];
  readonly requestMethod: string;
  readonly contextValues: ContextValues;

  constructor(
    private readonly call: UnaryCall,
    readonly message: unknown,
  ) {
    this.method = call.spec.method;
    this.service = call.spec.method.parent;
    this.requestMethod = call.init.requestMethod;
    this.contextValues = call.init.contextValues;
  }

  get url(): string {
    return this.call.url();
  }

  get signal(): AbortSignal {
    return this.call.signal();
  }

  get header(): Headers {
    return this.call.header();
  }
}

/**
 * The HandlerContext the implementation sees, from the request the interceptors passed on. An
 * interceptor that passes on a copy (`{ ...req, message }`) copies own fields only, not the lazy
 * getters: the call's own url, signal and headers stand in for them.
 */
class FastContext {
  readonly method: UnarySpec["method"];
  readonly service: UnaryRequest["service"];
  readonly protocolName: string;
  readonly requestMethod: string;
  readonly values: ContextValues;

  constructor(
    private readonly call: UnaryCall,
    private readonly req: UnaryRequest,
  ) {
    this.method = call.spec.method;
    this.service = req.service;
    this.protocolName = call.init.protocolName;
    this.requestMethod = req.requestMethod;
    this.values = req.contextValues;
  }

  timeoutMs(): number | undefined {
    return this.call.timeoutMs();
  }

  get url(): string {
    return (this.req.url as string | undefined) ?? this.call.url();
  }

  get signal(): AbortSignal {
    return (this.req.signal as AbortSignal | undefined) ?? this.call.signal();
  }

  get requestHeader(): Headers {
    return (this.req.header as Headers | undefined) ?? this.call.header();
  }

  get responseHeader(): Headers {
    return this.call.responseHeaders();
  }

  get responseTrailer(): Headers {
    return this.call.responseTrailers();
  }
}

/** The UnaryResponse the implementation's answer travels back in. */
class FastResponse {
  readonly stream = false;
  readonly service: UnarySpec["method"]["parent"];
  readonly method: UnarySpec["method"];

  constructor(
    private readonly call: UnaryCall,
    readonly message: unknown,
  ) {
    this.method = call.spec.method;
    this.service = call.spec.method.parent;
  }

  get header(): Headers {
    return this.call.responseHeaders();
  }

  get trailer(): Headers {
    return this.call.responseTrailers();
  }
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
