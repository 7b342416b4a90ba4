import http2 from "node:http2";
import type net from "node:net";
import type { LimitLog } from "./limit-log.js";

/** What one listener lets clients open and send (see README: limits). */
export interface ConnectionLimits {
  /** Open connections per server; more are closed as they arrive (Node's maxConnections). */
  maxConnections: number;
  /** Open connections per remote address; 0: no such cap (e.g. behind a load balancer). */
  maxConnectionsPerAddress: number;
  /** HTTP/1.1 request headers (maxHeaderSize) and HTTP/2 header lists (SETTINGS_MAX_HEADER_LIST_SIZE), in bytes. */
  maxHeaderBytes: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams one HTTP/2 connection may have open at once. */
  http2MaxConcurrentStreams: number;
  /** What one HTTP/2 connection may hold (Node's maxSessionMemory, and unread response bytes), in MB. */
  http2MaxSessionMemoryMb: number;
  /** An HTTP/2 stream whose unread response makes no progress this long is reset; 0: never. */
  http2StalledStreamMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  maxConnections: 4096,
  maxConnectionsPerAddress: 256,
  maxHeaderBytes: 16 * 1024,
  http2MaxConcurrentStreams: 100,
  http2MaxSessionMemoryMb: 10,
  http2StalledStreamMs: 30_000,
};

/** The limits with defaults filled in; a value that makes no sense is a programming error. */
export function connectionLimitsOf(given: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  const limits = { ...defaultConnectionLimits, ...given };
  const atLeast = (name: keyof ConnectionLimits, min: number): void => {
    const value = limits[name];
    if (!Number.isInteger(value) || value < min)
      throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  };
  atLeast("maxConnections", 1);
  atLeast("maxConnectionsPerAddress", 0);
  atLeast("maxHeaderBytes", 1024);
  atLeast("http2MaxConcurrentStreams", 1);
  atLeast("http2MaxSessionMemoryMb", 1);
  atLeast("http2StalledStreamMs", 0);
  return limits;
}

/**
 * The per-address cap: admits a new connection or closes it at once (logged), counting each
 * address's open connections until they close.
 */
export function createAddressAdmission(maxPerAddress: number, limits: LimitLog): (socket: net.Socket) => boolean {
  const open = new Map<string, number>();
  return (socket) => {
    if (maxPerAddress <= 0) return true;
    const address = socket.remoteAddress ?? "unknown";
    const count = open.get(address) ?? 0;
    if (count >= maxPerAddress) {
      limits.bite("max_connections_per_address", address);
      socket.destroy();
      return false;
    }
    open.set(address, count + 1);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
    return true;
  };
}

export interface Http2Guard {
  /** Node's options for an HTTP/2 server with these limits. */
  readonly serverOptions: http2.ServerOptions;
  /** Counts the session's streams and puts it under the sweep. */
  watch(session: http2.ServerHttp2Session): void;
  /** Stops the sweep (the server closed). */
  close(): void;
}

/**
 * Bounds what HTTP/2 clients that stop reading can make a server hold. nghttp2 refuses streams
 * over the advertised limit (RST_STREAM REFUSED_STREAM), and Node counts its own buffers against
 * maxSessionMemory, but the response bytes a handler wrote and flow control has not let out yet
 * sit in each stream's JS buffer, which nothing bounds: a client that opens streams and never
 * reads them keeps every response in memory. A sweep (not per call: the hot path pays one Set add
 * and delete per stream) resets, on each session, the streams holding the most while the session
 * holds more than maxSessionMemoryMb, and any stream whose buffer has not shrunk for stalledStreamMs.
 */
export function createHttp2Guard(settings: ConnectionLimits, limits: LimitLog): Http2Guard {
  const sessions = new Map<http2.ServerHttp2Session, Set<http2.ServerHttp2Stream>>();
  const stalled = new WeakMap<http2.ServerHttp2Stream, { buffered: number; since: number }>();
  const maxSessionBytes = settings.http2MaxSessionMemoryMb * 1024 * 1024;
  let timer: NodeJS.Timeout | undefined;

  const sweep = (): void => {
    const now = Date.now();
    for (const [session, streams] of sessions) {
      const address = session.socket?.remoteAddress;
      let total = 0;
      const holding: [http2.ServerHttp2Stream, number][] = [];
      for (const stream of streams) {
        const buffered = stream.bufferSize;
        if (buffered <= 0) {
          stalled.delete(stream);
          continue;
        }
        total += buffered;
        holding.push([stream, buffered]);
        if (settings.http2StalledStreamMs <= 0) continue;
        const seen = stalled.get(stream);
        if (seen === undefined || buffered < seen.buffered) {
          stalled.set(stream, { buffered, since: now });
        } else if (now - seen.since >= settings.http2StalledStreamMs) {
          limits.bite("http2_stalled_stream", address);
          stream.close(http2.constants.NGHTTP2_CANCEL);
          total -= buffered;
        }
      }
      if (total <= maxSessionBytes) continue;
      limits.bite("http2_max_session_memory", address);
      holding.sort((a, b) => b[1] - a[1]);
      for (const [stream, buffered] of holding) {
        if (total <= maxSessionBytes) break;
        if (stream.closed) continue;
        stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        total -= buffered;
      }
    }
  };

  return {
    serverOptions: {
      maxSessionMemory: settings.http2MaxSessionMemoryMb,
      settings: {
        maxConcurrentStreams: settings.http2MaxConcurrentStreams,
        maxHeaderListSize: settings.maxHeaderBytes,
      },
    },
    watch(session: http2.ServerHttp2Session): void {
      const streams = new Set<http2.ServerHttp2Stream>();
      sessions.set(session, streams);
      session.on("stream", (stream: http2.ServerHttp2Stream) => {
        streams.add(stream);
        // The client reached the cap: more streams wait on its side, or are refused if it sends them.
        if (streams.size >= settings.http2MaxConcurrentStreams) {
          limits.bite("http2_max_concurrent_streams", session.socket?.remoteAddress);
        }
        stream.once("close", () => streams.delete(stream));
      });
      session.once("close", () => sessions.delete(session));
      if (timer === undefined) {
        const every =
          settings.http2StalledStreamMs > 0 ? Math.min(1000, Math.max(50, settings.http2StalledStreamMs / 4)) : 1000;
        timer = setInterval(sweep, every);
        timer.unref();
      }
    },
    close(): void {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
