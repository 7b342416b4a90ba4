import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { Duplex } from "node:stream";
import type { SecureContext } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { buildConnector, type Dispatcher, Pool } from "undici";

/** One HTTP exchange as the unary transport needs it: the whole body in, the whole body out. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** HTTP/2 trailers (gRPC); empty for HTTP/1.1. */
  trailers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Sender {
  /**
   * Sends one request. Network failures reject with Unavailable, `signal` aborts reject with
   * ConnectError.from(signal.reason, Canceled), a body over `readMaxBytes` with ResourceExhausted.
   */
  send(path: string, headers: http.OutgoingHttpHeaders, body: Uint8Array, signal: AbortSignal): Promise<RawResponse>;
  close(): void;
}

export interface Http2Tuning {
  pingIntervalMs: number;
  pingTimeoutMs: number;
  idleConnectionTimeoutMs: number;
}

/** Where each new TLS connection takes its secure context (client-tls.ts); Node's defaults when absent. */
export interface TlsContextSource {
  context(): SecureContext;
}

/**
 * The keep-alive agent for `baseUrl`: http, or https whose every new connection takes the current
 * secure context (CA to verify master-data, cart's client certificate), so a reloaded file reaches
 * the next connection. connect-node's client uses it; ours dials through undici (createUndiciHttp1Sender).
 */
export function createAgent(baseUrl: URL, options: http.AgentOptions, tls: TlsContextSource | undefined): http.Agent {
  if (baseUrl.protocol !== "https:") return new http.Agent(options);
  if (tls === undefined) return new https.Agent(options);
  return new ReloadingHttpsAgent(options, tls);
}

class ReloadingHttpsAgent extends https.Agent {
  readonly #tls: TlsContextSource;
  constructor(options: http.AgentOptions, tls: TlsContextSource) {
    // No TLS session cache: a resumed session would carry the certificates of the context it began with.
    super({ ...options, maxCachedSessions: 0 });
    this.#tls = tls;
  }
  // https.Agent's documented extension point: it builds every new socket from these options.
  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    return super.createConnection(
      { ...options, secureContext: this.#tls.context() } as http.ClientRequestArgs,
      callback,
    );
  }
}

/** Options for http2.connect: the current secure context, read on every (re)connect. */
export function http2SessionOptions(tls: TlsContextSource | undefined): http2.SecureClientSessionOptions | undefined {
  if (tls === undefined) return undefined;
  return {
    get secureContext() {
      return tls.context();
    },
  };
}

const noTrailers: http.IncomingHttpHeaders = Object.freeze({}) as http.IncomingHttpHeaders;

/** Collects a response body, refusing one that grows past `max` before buffering all of it. */
function createBodySink(max: number, onTooLarge: (err: ConnectError) => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk: Buffer): boolean {
      size += chunk.length;
      if (size > max) {
        onTooLarge(tooLargeError(max));
        return false;
      }
      chunks.push(chunk);
      return true;
    },
    bytes: (): Buffer => (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)),
  };
}

function tooLargeError(max: number): ConnectError {
  return new ConnectError(`response body larger than the configured max of ${max} bytes`, Code.ResourceExhausted);
}

/** Socket-level failures are "the peer is not there now": Unavailable, never Internal. */
export function networkError(e: unknown, what: string): ConnectError {
  if (e instanceof ConnectError) return e;
  // Streams of a session that failed to connect are cancelled: the session's error (a refused
  // certificate, say: SELF_SIGNED_CERT_IN_CHAIN) is the one that says what happened.
  const failed =
    codeOf(e) === "ERR_HTTP2_STREAM_CANCEL" && e instanceof Error && e.cause instanceof Error ? e.cause : e;
  return unavailable(failed, what);
}

function codeOf(e: unknown): string | undefined {
  return e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

function unavailable(e: unknown, what: string): ConnectError {
  const code = codeOf(e);
  const text = e instanceof Error ? e.message : String(e);
  return new ConnectError(`${what}: ${code ?? text}`, Code.Unavailable, undefined, undefined, e);
}

/** A body shorter than its content-length: the connection went away mid-answer. */
function truncated(headers: http.IncomingHttpHeaders, body: Buffer): boolean {
  const length = headers["content-length"];
  return length !== undefined && Number(length) !== body.length;
}

function truncatedError(): ConnectError {
  return new ConnectError("connection closed mid-response", Code.Unavailable);
}

/** An 'error' listener for a stream whose call is over: without one, a late error would crash the process. */
function ignore(): void {}

function abortError(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason, Code.Canceled);
}

/**
 * HTTP/1.1 on undici's Pool: up to maxSockets keep-alive connections, each call on an idle one or
 * queued. Not node:http: measured on the same server and bytes, http.request on a keep-alive
 * http.Agent cost a third more client CPU per call than undici's dispatch().
 */
export function createUndiciHttp1Sender(
  baseUrl: URL,
  maxSockets: number,
  readMaxBytes: number,
  tls?: TlsContextSource | undefined,
): Sender {
  const pool = new Pool(baseUrl.origin, {
    connections: maxSockets,
    pipelining: 1,
    // The config says HTTP/1.1: undici would otherwise offer h2 in ALPN to an https:// peer.
    allowH2: false,
    // node:http has neither timeout: how long a call may take is its caller's deadline, not ours.
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(baseUrl.protocol === "https:" && tls !== undefined ? { connect: reloadingConnector(tls) } : {}),
  });
  const prefix = baseUrl.pathname.replace(/\/+$/, "");
  let closed = false;
  return {
    send(path, headers, body, signal) {
      return new Promise<RawResponse>((resolve, reject) => {
        if (signal.aborted) return reject(abortError(signal));
        if (closed) return reject(new ConnectError("transport closed", Code.Unavailable));
        const exchange = new Exchange(readMaxBytes, signal, resolve, reject);
        // undici sets content-length from the body itself, and refuses a second one in `headers`.
        pool.dispatch({ path: prefix + path, method: "POST", headers, body }, exchange);
      });
    },
    close() {
      closed = true;
      // Calls still running reject (UND_ERR_DESTROYED → Unavailable); nobody waits for the promise.
      pool.destroy().catch(() => {});
    },
  };
}

/**
 * undici fixes a connector's TLS options when it is built, so a new secure context (a reloaded
 * file) needs a new connector; open connections keep theirs.
 */
function reloadingConnector(tls: TlsContextSource): buildConnector.connector {
  let built: { context: SecureContext; connect: buildConnector.connector } | undefined;
  return (options, callback) => {
    const context = tls.context();
    if (built?.context !== context) {
      // No TLS session cache: a resumed session would carry the certificates of the context it began with.
      built = { context, connect: buildConnector({ secureContext: context, allowH2: false, maxCachedSessions: 0 }) };
    }
    // The socket goes back to undici, which cancels an attempt that no request waits for any more.
    return built.connect(options, callback);
  };
}

/**
 * One call as undici's dispatch handler: it settles the send() promise exactly once, whichever of
 * response, error or abort comes first.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #max: number;
  readonly #signal: AbortSignal;
  readonly #resolve: (response: RawResponse) => void;
  readonly #reject: (err: ConnectError) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  #status = 0;
  #headers: http.IncomingHttpHeaders = noTrailers;
  #chunks: Buffer[] = [];
  #size = 0;
  readonly #onAbort: () => void;

  constructor(
    max: number,
    signal: AbortSignal,
    resolve: (response: RawResponse) => void,
    reject: (err: ConnectError) => void,
  ) {
    this.#max = max;
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    // A function, not this object as a handleEvent listener: for an object, Node's EventTarget
    // wraps it in an arrow function assigned to a property, which V8 allocates in old space, and
    // that closure then held this exchange (its response, the caller's promise chain) through every
    // scavenge until the next mark-compact (decision record 0004, point 9).
    this.#onAbort = this.#abortedByCaller.bind(this);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Aborted while queued for a connection. Throwing (not controller.abort) fails the request
    // before it is written and leaves the connection open for the next one; abort would destroy it.
    if (this.#settled) throw abortError(this.#signal);
    this.#controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx: informational, the final answer follows on the same request.
    if (statusCode < 200) return;
    const length = headers["content-length"];
    // Refused before a byte of the body is buffered when the peer says up front how big it is.
    if (typeof length === "string" && Number(length) > this.#max) {
      this.#refuse(tooLargeError(this.#max));
      return;
    }
    this.#status = statusCode;
    // undici's parsed headers: lower-case names, a repeated header as an array (set-cookie too),
    // which is how fast-transport.ts reads them.
    this.#headers = headers as http.IncomingHttpHeaders;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.#max) this.#refuse(tooLargeError(this.#max));
    else this.#chunks.push(chunk);
  }

  // undici itself fails a body shorter than its content-length (UND_ERR_RES_CONTENT_LENGTH_MISMATCH).
  onResponseEnd(): void {
    if (!this.#finish()) return;
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size);
    this.#resolve({ status: this.#status, headers: this.#headers, trailers: noTrailers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (!this.#finish()) return;
    const code = codeOf(err);
    // undici refusing what we asked (a header value with a newline, say): no peer would answer it.
    const refused = code === "UND_ERR_INVALID_ARG" || code === "UND_ERR_NOT_SUPPORTED";
    this.#reject(
      refused
        ? ConnectError.from(err, Code.Internal)
        : networkError(err, this.#status === 0 ? "connection failed" : "response interrupted"),
    );
  }

  #abortedByCaller(): void {
    this.#refuse(abortError(this.#signal));
  }

  #refuse(err: ConnectError): void {
    if (!this.#finish()) return;
    this.#reject(err);
    // Once the request is on a connection, the connection goes with it (the peer sees the call end).
    this.#controller?.abort(err);
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#signal.removeEventListener("abort", this.#onAbort);
    return true;
  }
}

/**
 * HTTP/2: ONE session shared by every call, opened on first use and re-opened after it closes
 * (GOAWAY, error, idle timeout, unanswered PING). Streams are cheap; connections are not.
 */
export function createHttp2Sender(
  baseUrl: URL,
  tuning: Http2Tuning,
  readMaxBytes: number,
  tls?: TlsContextSource | undefined,
): Sender {
  const sessionOptions = http2SessionOptions(tls);
  const authority = baseUrl.origin;
  const prefix = baseUrl.pathname.replace(/\/+$/, "");
  let session: http2.ClientHttp2Session | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const drop = (s: http2.ClientHttp2Session): void => {
    if (session === s) {
      session = undefined;
      clearInterval(pingTimer);
      pingTimer = undefined;
    }
  };

  const current = (): http2.ClientHttp2Session => {
    if (session !== undefined && !session.closed && !session.destroyed) return session;
    const s = sessionOptions === undefined ? http2.connect(authority) : http2.connect(authority, sessionOptions);
    // Errors surface on the streams; without a listener an 'error' event would crash the process.
    s.on("error", () => drop(s));
    s.on("close", () => drop(s));
    s.on("goaway", () => drop(s));
    s.setTimeout(tuning.idleConnectionTimeoutMs, () => s.close());
    session = s;
    // A peer that vanished without a FIN is found by an unanswered PING, not by a call timing out.
    pingTimer = setInterval(() => {
      if (s.closed || s.destroyed || s.connecting) return;
      const timer = setTimeout(() => s.destroy(), tuning.pingTimeoutMs);
      timer.unref();
      const sent = s.ping(() => clearTimeout(timer));
      if (!sent) clearTimeout(timer);
    }, tuning.pingIntervalMs);
    pingTimer.unref();
    return s;
  };

  return {
    send(path, headers, body, signal) {
      return new Promise<RawResponse>((resolve, reject) => {
        if (signal.aborted) return reject(abortError(signal));
        if (closed) return reject(new ConnectError("transport closed", Code.Unavailable));
        headers[":method"] = "POST";
        headers[":path"] = prefix + path;
        let stream: http2.ClientHttp2Stream;
        try {
          stream = current().request(headers);
        } catch (e) {
          // A session that is closing refuses new streams synchronously: the next call opens a new one.
          if (session !== undefined) drop(session);
          return reject(networkError(e, "connection failed"));
        }
        let settled = false;
        let status = 0;
        let responseHeaders: http.IncomingHttpHeaders = noTrailers;
        let trailers: http.IncomingHttpHeaders = noTrailers;
        const fail = (err: ConnectError): void => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(err);
        };
        const onAbort = (): void => fail(abortError(signal));
        const sink = createBodySink(readMaxBytes, fail);
        const onResponse = (h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) => {
          status = Number(h[":status"]);
          responseHeaders = h;
        };
        const onData = (chunk: Buffer) => {
          if (!settled) sink.push(chunk);
        };
        const onTrailers = (t: http2.IncomingHttpHeaders) => {
          trailers = t;
        };
        let ended = false;
        const onEnd = () => {
          ended = true;
        };
        const onError = (e: Error) => fail(networkError(e, "stream failed"));
        // Settled on 'close', not 'end': a session torn down mid-answer also ends its streams.
        const onClose = () => {
          // Node keeps a closed stream reachable until the next mark-compact (decision record
          // 0004, point 8): without its listeners it no longer keeps this call's answer too.
          stream
            .off("response", onResponse)
            .off("data", onData)
            .off("trailers", onTrailers)
            .off("end", onEnd)
            .off("error", onError)
            .off("close", onClose)
            .on("error", ignore);
          if (settled) return;
          const code = stream.rstCode ?? 0;
          if (ended && code === http2.constants.NGHTTP2_NO_ERROR) {
            const body = sink.bytes();
            if (truncated(responseHeaders, body)) return fail(truncatedError());
            settled = true;
            signal.removeEventListener("abort", onAbort);
            return resolve({ status, headers: responseHeaders, trailers, body });
          }
          const reason =
            code === http2.constants.NGHTTP2_REFUSED_STREAM
              ? "stream refused by the peer"
              : `stream closed before the response ended (HTTP/2 code ${code})`;
          fail(new ConnectError(reason, Code.Unavailable));
        };
        stream
          .on("response", onResponse)
          .on("data", onData)
          .on("trailers", onTrailers)
          .on("end", onEnd)
          .on("error", onError)
          .on("close", onClose);
        signal.addEventListener("abort", onAbort, { once: true });
        stream.end(body);
      });
    },
    close() {
      closed = true;
      clearInterval(pingTimer);
      session?.destroy();
      session = undefined;
    },
  };
}
