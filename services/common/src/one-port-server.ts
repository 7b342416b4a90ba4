import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import fastify, { type FastifyInstance, type FastifyServerFactoryHandler, type FastifyServerOptions } from "fastify";
import {
  type ConnectionLimits,
  connectionLimitsOf,
  createAddressAdmission,
  createHttp2Guard,
  type Http2Guard,
} from "./connection-limits.js";
import { createLimitLog, type LimitLog, type LimitLogSink } from "./limit-log.js";
import { contextOptionsOf, type PemFiles, type TlsReloadLog, watchPemFiles } from "./tls-files.js";

export interface OnePortOptions
  extends Pick<FastifyServerOptions, "logger" | "disableRequestLogging" | "genReqId" | "bodyLimit"> {
  /** Serve TLS (HTTP/2 and HTTP/1.1 chosen by ALPN) instead of cleartext. */
  tls?: OnePortTls | undefined;
  /** Hears of every failed TLS handshake, with OpenSSL's reason (a refused client certificate, say). */
  onTlsHandshakeError?: ((reason: string) => void) | undefined;
  /** How long a new connection may take to show its protocol (cleartext) or finish its TLS handshake. */
  firstByteTimeoutMs?: number;
  /** Idle time after which an HTTP/1.1 keep-alive connection or an HTTP/2 session is closed. */
  idleTimeoutMs?: number;
  /** How long an HTTP/1.1 client may take to send a request's headers. */
  headersTimeoutMs?: number;
  /** On close, how long in-flight requests may take before their connections are destroyed. */
  closeGraceMs?: number;
  /** Connection, header and HTTP/2 stream bounds (connection-limits.ts); its defaults where not given. */
  limits?: Partial<ConnectionLimits> | undefined;
  /** Sees every request before fastify; returns true when it took the request (see unary-fast-path.ts). */
  front?: FrontHandler | undefined;
  /**
   * Sees every HTTP/2 stream before Node's compatibility layer turns it into a request/response
   * pair; returns true when it took the stream. The streams it declines reach fastify as requests
   * (without passing `front`).
   */
  frontStream?: StreamFrontHandler | undefined;
  /**
   * Answers the requests that arrive while the app closes (true when it answered; false lets the
   * request through, e.g. a readiness probe). Unset: fastify's own plain 503.
   */
  whileClosing?: ClosingHandlers | undefined;
}

export interface ClosingHandlers {
  request(
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ): boolean;
  stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
}

/**
 * Whether clients must show a certificate: `none` asks for none; `request` asks, lets clients
 * without one (or with one that does not verify) connect, and only verified ones get an identity;
 * `require` refuses at the handshake any client without a certificate that chains to `ca`.
 */
export type ClientAuth = "none" | "request" | "require";
export const clientAuthModes: readonly ClientAuth[] = ["none", "request", "require"];

export interface OnePortTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA bundle that client certificates must chain to (with clientAuth request or require). */
  ca?: string | Buffer | undefined;
  clientAuth?: ClientAuth | undefined;
  /**
   * Reload the certificate, key and CA bundle from these files when they change (tls-files.ts):
   * new connections get the new ones, open connections keep theirs.
   */
  reload?: { files: PemFiles; intervalMs: number } | undefined;
}

export type FrontHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => boolean;

export type StreamFrontHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

const defaults = {
  firstByteTimeoutMs: 10_000,
  // Longer than the 60 s idle timeout of common load balancers, so that the proxy, not we, closes
  // idle connections: otherwise it may reuse one in the instant we close it.
  idleTimeoutMs: 72_000,
  headersTimeoutMs: 15_000,
  closeGraceMs: 5_000,
};

// How long an idle HTTP/1.1 connection stays open once shutdown begins (see the tracker).
const idleLingerMs = 1_000;

// Receiving a whole request body (unary calls, JSON) should never take this long.
const minRequestTimeoutMs = 60_000;

/**
 * A fastify app whose single port accepts HTTP/1.1 and HTTP/2 (h2c with prior knowledge in
 * cleartext, ALPN with TLS), so Connect, gRPC and gRPC-Web share it. Closing the app closes open
 * client connections too: idle ones at once, busy ones when their requests finish (at most after
 * closeGraceMs).
 */
export function createOnePortFastify(options: OnePortOptions): FastifyInstance {
  const settings = {
    firstByteTimeoutMs: positiveMs("firstByteTimeoutMs", options.firstByteTimeoutMs ?? defaults.firstByteTimeoutMs),
    idleTimeoutMs: positiveMs("idleTimeoutMs", options.idleTimeoutMs ?? defaults.idleTimeoutMs),
    headersTimeoutMs: positiveMs("headersTimeoutMs", options.headersTimeoutMs ?? defaults.headersTimeoutMs),
    closeGraceMs: positiveMs("closeGraceMs", options.closeGraceMs ?? defaults.closeGraceMs),
    guards: createGuards(connectionLimitsOf(options.limits), (fields, message) => limitSink(fields, message)),
  };
  let limitSink: LimitLogSink = () => {};
  const tracker = createConnectionTracker(settings.closeGraceMs);
  let onSessionError: (err: Error) => void = () => {};
  let tlsLog: TlsReloadLog & { debug(fields: Record<string, unknown>, message: string): void } = {
    info: () => {},
    error: () => {},
    debug: () => {},
  };
  const app: FastifyInstance = fastify({
    logger: options.logger ?? false,
    disableRequestLogging: options.disableRequestLogging,
    genReqId: options.genReqId,
    bodyLimit: options.bodyLimit,
    // With whileClosing, requests that arrive while closing are answered there, in their protocol.
    return503OnClosing: options.whileClosing === undefined,
    // No `http2: true`: fastify sees HTTP/2 requests through Node's compatibility API, which has
    // the HTTP/1.1 surface, and types the app for HTTP/1.1, as Connect's fastify plugin expects.
    serverFactory: (fastifyHandler) => {
      const { front, frontStream: streamFront, whileClosing } = options;
      const refused = (req: http.IncomingMessage, res: http.ServerResponse): boolean =>
        tracker.draining() && refuseWhileClosing(req, res, whileClosing);
      const handler: FastifyServerFactoryHandler<http.Server> = (req, res) => {
        if (refused(req, res)) return;
        if (front === undefined || !front(req, res)) fastifyHandler(req, res);
      };
      const frontStream: StreamFrontHandler | undefined =
        streamFront === undefined
          ? undefined
          : (stream, headers) =>
              (tracker.draining() && whileClosing?.stream(stream, headers) === true) || streamFront(stream, headers);
      // HTTP/2 requests that reach the compatibility layer were already declined by frontStream.
      const withStreams =
        frontStream === undefined
          ? undefined
          : {
              frontStream,
              handler: ((req, res) => {
                if (req.httpVersionMajor !== 2) return handler(req, res);
                if (!refused(req, res)) fastifyHandler(req, res);
              }) as typeof handler,
            };
      const server = options.tls
        ? createTlsServer(handler, withStreams, options.tls, settings, tracker, {
            onSessionError: (err) => onSessionError(err),
            onHandshakeError: options.onTlsHandshakeError,
            log: {
              info: (fields, message) => tlsLog.info(fields, message),
              error: (fields, message) => tlsLog.error(fields, message),
              debug: (fields, message) => tlsLog.debug(fields, message),
            },
          })
        : createCleartextServer(handler, withStreams, settings, tracker, (err) => onSessionError(err));
      // fastify only listens, closes, reads address() and subscribes to events on the server it is
      // given; a net.Server or an Http2SecureServer does all of that as an http.Server would.
      return server as unknown as http.Server;
    },
  });
  onSessionError = (err) => app.log.debug({ err }, "http2 session error");
  // A limit that bites is worth a warning with the client's address: once per interval (limit-log.ts).
  limitSink = (fields, message) => app.log.warn(fields, message);
  app.addHook("onClose", async () => settings.guards.http2.close());
  tlsLog = {
    info: (fields, message) => app.log.info(fields, message),
    error: (fields, message) => app.log.error(fields, message),
    debug: (fields, message) => app.log.debug(fields, message),
  };
  app.addHook("preClose", async () => {
    tracker.drain();
  });
  return app;
}

/**
 * A request that arrives while the app closes. On an HTTP/1.1 connection that shutdown already ended
 * (it was idle) no answer can be written: the request is dropped unserved and the socket reset, so
 * the client knows at once that nothing was done (connect-es reports it as a retryable failure).
 */
function refuseWhileClosing(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  whileClosing: ClosingHandlers | undefined,
): boolean {
  if (req.httpVersionMajor < 2 && req.socket.writableEnded) {
    req.socket.destroy();
    return true;
  }
  return whileClosing?.request(req, res) === true;
}

interface Settings {
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  headersTimeoutMs: number;
  closeGraceMs: number;
  guards: Guards;
}

/** The bounds of one listener, as the servers below apply them. */
interface Guards {
  limits: ConnectionLimits;
  log: LimitLog;
  http2: Http2Guard;
  /** The per-address cap: false when it closed the socket. */
  admit(socket: net.Socket): boolean;
}

function createGuards(limits: ConnectionLimits, sink: LimitLogSink): Guards {
  const log = createLimitLog(sink);
  return {
    limits,
    log,
    http2: createHttp2Guard(limits, log),
    admit: createAddressAdmission(limits.maxConnectionsPerAddress, log),
  };
}

/** The server-wide cap: Node closes connections over maxConnections as it accepts them; we log it. */
function capConnections(server: net.Server, guards: Guards): void {
  server.maxConnections = guards.limits.maxConnections;
  server.on("drop", (data?: { remoteAddress?: string }) => guards.log.bite("max_connections", data?.remoteAddress));
}

/** HTTP/1.1 headers over maxHeaderBytes: Node answers 431; this only logs it. */
function noteHeaderOverflow(err: Error & { code?: string }, socket: net.Socket, guards: Guards): void {
  if (err.code === "HPE_HEADER_OVERFLOW") guards.log.bite("max_header_bytes", socket.remoteAddress);
}

type Http2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

interface StreamsFirst {
  frontStream: StreamFrontHandler;
  /** The handler for what frontStream declined and for HTTP/1.1. */
  handler: FastifyServerFactoryHandler<http.Server>;
}

/**
 * Offers each HTTP/2 stream to `front` before Node's compatibility layer sees it. Node implements
 * that layer as the one 'stream' listener the server installs with its 'request' listener; it is
 * moved behind `front` (checked here: a Node that did it otherwise fails at start-up, not later).
 */
function serveStreamsFirst(server: http2.Http2Server | http2.Http2SecureServer, front: StreamFrontHandler): void {
  const listeners = server.listeners("stream");
  const compat = listeners[0];
  if (listeners.length !== 1 || compat === undefined) {
    throw new Error(`expected one 'stream' listener (Node's http2 compatibility layer), found ${listeners.length}`);
  }
  server.removeListener("stream", compat as (...args: unknown[]) => void);
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => {
    if (!front(stream, headers)) compat.call(server, stream, headers, ...rest);
  });
}

/** The handler fastify would give http2.createServer; its http.Server type is the only difference. */
function asHttp2Handler(handler: FastifyServerFactoryHandler<http.Server>): Http2Handler {
  return handler as unknown as Http2Handler;
}

function createCleartextServer(
  handler: FastifyServerFactoryHandler<http.Server>,
  streams: StreamsFirst | undefined,
  settings: Settings,
  tracker: ConnectionTracker,
  onSessionError: (err: Error) => void,
): net.Server {
  const http1 = http.createServer(
    { ...http1Timeouts(settings), maxHeaderSize: settings.guards.limits.maxHeaderBytes },
    handler,
  );
  http1.keepAliveTimeout = settings.idleTimeoutMs;
  // An http.Server tracks connections (and so enforces headersTimeout/requestTimeout) only from its
  // 'listening' event on; this one never listens, it is handed sockets by the sniffer.
  http1.emit("listening");
  http1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => tracker.trackRequest(req.socket, res));

  const h2 = http2.createServer(settings.guards.http2.serverOptions, asHttp2Handler(streams?.handler ?? handler));
  if (streams !== undefined) serveStreamsFirst(h2, streams.frontStream);
  h2.on("session", (session: http2.ServerHttp2Session) => watchSession(session, settings, tracker));
  h2.on("sessionError", onSessionError);

  const outer = net.createServer({ noDelay: true });
  // fastify listens for 'clientError' (malformed HTTP/1.1) on the server it knows, the outer one.
  http1.on("clientError", (err: Error, socket: net.Socket) => {
    noteHeaderOverflow(err, socket, settings.guards);
    if (!outer.emit("clientError", err, socket)) socket.destroy();
  });
  capConnections(outer, settings.guards);
  outer.on("connection", (socket: net.Socket) => {
    if (!settings.guards.admit(socket)) return;
    tracker.trackTransport(socket, { undecided: true });
    // Node's cleartext http2 server ignores allowHTTP1, so sniff for the HTTP/2 client preface.
    sniffProtocol(socket, settings.firstByteTimeoutMs, (protocol) => {
      tracker.decided(socket);
      if (protocol === "http2") {
        h2.emit("connection", socket);
      } else {
        // As http.createServer does: a client may half-close after its request and still get the response.
        socket.allowHalfOpen = true;
        tracker.trackHttp1(socket);
        http1.emit("connection", socket);
      }
    });
  });
  // Stops the inner HTTP/1.1 server's timeout checker.
  outer.on("close", () => http1.close());
  return outer;
}

function createTlsServer(
  handler: FastifyServerFactoryHandler<http.Server>,
  streams: StreamsFirst | undefined,
  tls: OnePortTls,
  settings: Settings,
  tracker: ConnectionTracker,
  events: {
    onSessionError: (err: Error) => void;
    onHandshakeError?: ((reason: string) => void) | undefined;
    log: TlsReloadLog & { debug(fields: Record<string, unknown>, message: string): void };
  },
): http2.Http2SecureServer {
  const clientAuth = tls.clientAuth ?? "none";
  if (clientAuth !== "none" && tls.ca === undefined) {
    throw new Error(`clientAuth "${clientAuth}" needs a CA bundle (ca) to verify client certificates against`);
  }
  // ALPN picks the protocol, so no sniffing: allowHTTP1 works for the TLS server.
  const server = http2.createSecureServer(
    {
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca !== undefined && { ca: tls.ca }),
      requestCert: clientAuth !== "none",
      // "request": the handshake completes either way; peer-identity.ts trusts only verified certificates.
      rejectUnauthorized: clientAuth === "require",
      allowHTTP1: true,
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: settings.firstByteTimeoutMs,
      ...settings.guards.http2.serverOptions,
    },
    asHttp2Handler(streams?.handler ?? handler),
  );
  const reload = tls.reload;
  if (reload !== undefined) {
    let watch: { stop(): void } | undefined;
    server.on("listening", () => {
      watch ??= watchPemFiles(reload.files, {
        intervalMs: reload.intervalMs,
        current: { cert: toBuffer(tls.cert), key: toBuffer(tls.key), ca: toBuffer(tls.ca) },
        // Throws on a certificate/key pair that does not match or is not PEM: the old context stays.
        apply: (material) => server.setSecureContext(contextOptionsOf(material)),
        log: events.log,
        what: "server",
      });
    });
    server.on("close", () => watch?.stop());
  }
  // A refused client certificate (none, unknown CA, expired) ends the handshake here; debug only,
  // since every scanner on the port would otherwise fill the log: the count is a metric (connect-app.ts).
  server.on("tlsClientError", (err: Error & { code?: string }) => {
    events.log.debug({ code: err.code, reason: err.message }, "TLS handshake failed");
    events.onHandshakeError?.(err.code ?? "unknown");
  });
  if (streams !== undefined) serveStreamsFirst(server, streams.frontStream);
  // Plain properties on the secure server, read by the HTTP/1.1 code it runs for allowHTTP1 clients.
  Object.assign(server, {
    keepAliveTimeout: settings.idleTimeoutMs,
    maxHeaderSize: settings.guards.limits.maxHeaderBytes,
    ...http1Timeouts(settings),
  });
  server.on("clientError", (err: Error, socket: net.Socket) => noteHeaderOverflow(err, socket, settings.guards));
  capConnections(server, settings.guards);
  // Not `undecided`: the TLSSocket that will wrap it is out of reach here, so a socket still in its
  // handshake when the app closes is destroyed only after closeGraceMs.
  server.on("connection", (socket: net.Socket) => {
    if (settings.guards.admit(socket)) tracker.trackTransport(socket, { undecided: false });
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol !== "h2") tracker.trackHttp1(socket);
  });
  server.on("session", (session: http2.ServerHttp2Session) => watchSession(session, settings, tracker));
  server.on("sessionError", events.onSessionError);
  server.on("request", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (req.httpVersionMajor < 2) tracker.trackRequest(req.socket, res);
  });
  return server;
}

function toBuffer(pem: string | Buffer | undefined): Buffer | undefined {
  return typeof pem === "string" ? Buffer.from(pem) : pem;
}

function http1Timeouts(settings: Settings) {
  return {
    headersTimeout: settings.headersTimeoutMs,
    requestTimeout: Math.max(minRequestTimeoutMs, settings.headersTimeoutMs),
    // Node checks the two timeouts above only this often (every 30 s by default).
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(settings.headersTimeoutMs / 2)),
  };
}

function watchSession(session: http2.ServerHttp2Session, settings: Settings, tracker: ConnectionTracker): void {
  // close(), not destroy(): GOAWAY lets the client finish its streams and reconnect cleanly.
  session.setTimeout(settings.idleTimeoutMs, () => session.close());
  tracker.trackSession(session);
  settings.guards.http2.watch(session);
}

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

type Protocol = "http1" | "http2";

/**
 * Reads the first bytes of `socket` until they match or miss the HTTP/2 client preface, puts them
 * back and calls `onDecided`. A socket that does not show its protocol within `timeoutMs` is
 * destroyed: it would otherwise be held forever.
 */
function sniffProtocol(socket: net.Socket, timeoutMs: number, onDecided: (protocol: Protocol) => void): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const stop = (): void => {
    clearTimeout(timer);
    socket.off("readable", onReadable);
    socket.off("close", stop);
  };
  // 'readable' + read(), not 'data' + pause(): that variant broke h2c (ERR_HTTP2_SESSION_ERROR).
  const onReadable = (): void => {
    for (let chunk: unknown = socket.read(); chunk !== null; chunk = socket.read()) {
      if (Buffer.isBuffer(chunk)) seen = Buffer.concat([seen, chunk]);
    }
    const protocol = classify(seen);
    if (protocol === undefined) return;
    stop();
    socket.unshift(seen);
    onDecided(protocol);
  };
  socket.on("readable", onReadable);
  socket.on("close", stop);
}

/** Decides on the first byte that differs from the preface; undefined while the bytes so far agree. */
function classify(bytes: Buffer): Protocol | undefined {
  const n = Math.min(bytes.length, http2Preface.length);
  if (!bytes.subarray(0, n).equals(http2Preface.subarray(0, n))) return "http1";
  return n === http2Preface.length ? "http2" : undefined;
}

/** What tracking needs of a response; both http.ServerResponse and Http2ServerResponse have it. */
interface TrackedResponse {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  once(event: "close", listener: () => void): unknown;
}

interface ConnectionTracker {
  /** Every accepted TCP socket; `undecided` ones (still sniffed) are destroyed at once on close. */
  trackTransport(socket: net.Socket, state: { undecided: boolean }): void;
  decided(socket: net.Socket): void;
  /** A socket (the TLS one under TLS) that carries HTTP/1.1. */
  trackHttp1(socket: net.Socket): void;
  trackRequest(socket: net.Socket, res: TrackedResponse): void;
  trackSession(session: http2.Http2Session): void;
  /** Starts closing every connection; does not wait (the listening server's close() does). */
  drain(): void;
  /** Whether drain() was called: requests from now on are refused. */
  draining(): boolean;
}

// The inner servers never listen(), so Node tracks none of their connections; we do it ourselves,
// the same way for the cleartext and the TLS server.
function createConnectionTracker(closeGraceMs: number): ConnectionTracker {
  const transports = new Set<net.Socket>();
  const undecided = new Set<net.Socket>();
  const http1 = new Map<net.Socket, Set<TrackedResponse>>();
  const sessions = new Set<http2.Http2Session>();
  let draining = false;
  // Idle HTTP/1.1 connections are kept a moment into the drain: a client that sends on one then
  // gets an answer (refused, connection: close) instead of a close racing its request.
  let lingering = false;
  let forceTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;

  const settle = (): void => {
    if (forceTimer !== undefined && transports.size === 0 && sessions.size === 0) {
      clearTimeout(forceTimer);
      clearTimeout(lingerTimer);
      forceTimer = undefined;
    }
  };
  const endIfIdle = (socket: net.Socket): void => {
    if (!lingering && http1.get(socket)?.size === 0) socket.end();
  };

  return {
    trackTransport(socket, state) {
      if (draining) {
        socket.destroy();
        return;
      }
      transports.add(socket);
      if (state.undecided) undecided.add(socket);
      // Whoever owns the socket later handles its errors; this keeps one in the gaps from crashing us.
      socket.on("error", () => {});
      socket.once("close", () => {
        transports.delete(socket);
        undecided.delete(socket);
        settle();
      });
    },
    decided(socket) {
      undecided.delete(socket);
    },
    trackHttp1(socket) {
      http1.set(socket, new Set());
      socket.once("close", () => http1.delete(socket));
      if (draining) endIfIdle(socket);
    },
    trackRequest(socket, res) {
      const responses = http1.get(socket);
      if (responses === undefined) return;
      responses.add(res);
      res.once("close", () => {
        responses.delete(res);
        if (draining) endIfIdle(socket);
      });
    },
    trackSession(session) {
      sessions.add(session);
      session.once("close", () => {
        sessions.delete(session);
        settle();
      });
      if (draining) closeGently(session);
    },
    draining: () => draining,
    drain() {
      if (draining) return;
      draining = true;
      lingering = true;
      for (const socket of undecided) socket.destroy();
      for (const session of sessions) closeGently(session);
      for (const responses of http1.values()) {
        // Tell the client not to reuse the connection; it is ended once the response is done.
        for (const res of responses) if (!res.headersSent) res.setHeader("connection", "close");
      }
      lingerTimer = setTimeout(
        () => {
          lingering = false;
          for (const socket of http1.keys()) endIfIdle(socket);
        },
        Math.min(idleLingerMs, closeGraceMs),
      );
      forceTimer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of http1.keys()) socket.destroy();
        for (const socket of transports) socket.destroy();
      }, closeGraceMs);
      settle();
    },
  };
}

/**
 * GOAWAY in two steps (RFC 9113 §6.8): first a notice that names no last stream, so the streams the
 * client sent before it saw it are still taken (and answered: served in flight or refused in their
 * protocol); after one round trip (a PING's answer) the final GOAWAY. A single GOAWAY naming the last
 * stream seen would make the client fail those in transit with REFUSED_STREAM, which connect-node
 * reports as `internal`. Streams already open finish either way.
 */
function closeGently(session: http2.Http2Session): void {
  if (session.closed || session.destroyed) return;
  const close = (): void => {
    if (!session.closed && !session.destroyed) session.close();
  };
  try {
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
    if (session.ping(close)) {
      // A client that never answers the PING still gets the final GOAWAY.
      setTimeout(close, 1_000).unref();
      return;
    }
  } catch {
    // A session in the middle of going away refuses frames: the plain close below still works.
  }
  close();
}

function positiveMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}
