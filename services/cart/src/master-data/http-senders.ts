import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { Duplex } from "node:stream";
import type { SecureContext } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";

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
 * the next connection. Both client kinds use it: one place that knows how cart dials HTTP/1.1.
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
        onTooLarge(
          new ConnectError(`response body larger than the configured max of ${max} bytes`, Code.ResourceExhausted),
        );
        return false;
      }
      chunks.push(chunk);
      return true;
    },
    bytes: (): Buffer => (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)),
  };
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

function abortError(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason, Code.Canceled);
}

/** HTTP/1.1 on one keep-alive agent: each call takes an idle socket or opens one (up to maxSockets). */
export function createHttp1Sender(
  baseUrl: URL,
  maxSockets: number,
  readMaxBytes: number,
  tls?: TlsContextSource | undefined,
): Sender {
  const secure = baseUrl.protocol === "https:";
  const agent = createAgent(baseUrl, { keepAlive: true, maxSockets, scheduling: "lifo" }, tls);
  const request = secure ? https.request : http.request;
  const host = baseUrl.hostname.replace(/^\[|\]$/g, "");
  const port = baseUrl.port === "" ? (secure ? 443 : 80) : Number(baseUrl.port);
  const prefix = baseUrl.pathname.replace(/\/+$/, "");
  return {
    send(path, headers, body, signal) {
      return new Promise<RawResponse>((resolve, reject) => {
        if (signal.aborted) return reject(abortError(signal));
        headers["content-length"] = body.byteLength;
        let settled = false;
        const fail = (err: ConnectError): void => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          req.destroy();
          reject(err);
        };
        const onAbort = (): void => fail(abortError(signal));
        const req = request({ agent, host, port, path: prefix + path, method: "POST", headers }, (res) => {
          const sink = createBodySink(readMaxBytes, fail);
          res.on("data", (chunk: Buffer) => {
            if (!settled) sink.push(chunk);
          });
          res.on("end", () => {
            if (settled) return;
            if (!res.complete || truncated(res.headers, sink.bytes())) return fail(truncatedError());
            settled = true;
            signal.removeEventListener("abort", onAbort);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: noTrailers, body: sink.bytes() });
          });
          res.on("error", (e) => fail(networkError(e, "response interrupted")));
          res.on("aborted", () =>
            fail(networkError(new Error("connection closed mid-response"), "response interrupted")),
          );
        });
        req.on("error", (e) => fail(networkError(e, "connection failed")));
        signal.addEventListener("abort", onAbort, { once: true });
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
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
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          responseHeaders = h;
        });
        stream.on("data", (chunk: Buffer) => {
          if (!settled) sink.push(chunk);
        });
        stream.on("trailers", (t) => {
          trailers = t;
        });
        let ended = false;
        stream.on("end", () => {
          ended = true;
        });
        stream.on("error", (e) => fail(networkError(e, "stream failed")));
        // Settled on 'close', not 'end': a session torn down mid-answer also ends its streams.
        stream.on("close", () => {
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
        });
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
