import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createOnePortFastify, type OnePortOptions } from "./one-port-server.js";

// The bounds of the one-port listener over real sockets: what a client that opens too much (or
// reads nothing) gets, what the log says, and that everyone else is still served.
const soon = 10_000;
const big = "x".repeat(256 * 1024);

interface Logged {
  level: number;
  msg: string;
  limit?: string;
  remote_address?: string;
  count?: number;
}

const apps: FastifyInstance[] = [];
const sessions: http2.ClientHttp2Session[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(limits: OnePortOptions["limits"]) {
  const logged: Logged[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") logged.push(JSON.parse(line) as Logged);
      done();
    },
  });
  const app = createOnePortFastify({ logger: { level: "warn", stream }, limits });
  apps.push(app);
  app.get("/hello", async () => ({ hello: "world" }));
  app.get("/big", async () => big);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address() as net.AddressInfo;
  return { app, port: address.port, url: `http://127.0.0.1:${address.port}`, logged };
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + soon;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":path": path });
    let body = "";
    let status = 0;
    req.setEncoding("utf8");
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c: string) => (body += c));
    req.on("end", () => resolve({ status, body }));
    req.on("error", reject);
    req.end();
  });
}

function connectH2(url: string, options: http2.ClientSessionOptions = {}): http2.ClientHttp2Session {
  const session = http2.connect(url, options);
  session.on("error", () => {});
  sessions.push(session);
  return session;
}

/** Opens `count` streams on `session` for a large response and never reads them. */
function openUnread(session: http2.ClientHttp2Session, count: number) {
  const state = { responded: 0, refused: 0, calmed: 0, cancelled: 0, other: 0 };
  for (let i = 0; i < count; i++) {
    const req = session.request({ ":path": "/big" });
    req.pause();
    req.on("response", () => state.responded++);
    req.on("error", () => {});
    req.on("close", () => {
      if (req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) state.refused++;
      else if (req.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) state.calmed++;
      else if (req.rstCode === http2.constants.NGHTTP2_CANCEL) state.cancelled++;
      else state.other++;
    });
    req.end();
  }
  return state;
}

describe("HTTP/2 stream bounds", () => {
  it("several connections opening many streams they never read: the cap holds, a new connection is still served", async () => {
    const server = await start({ http2MaxConcurrentStreams: 10, http2StalledStreamMs: 0, http2MaxSessionMemoryMb: 64 });
    const floods = Array.from({ length: 3 }, () => {
      const session = connectH2(server.url);
      return { session, state: openUnread(session, 40) };
    });
    // Each connection gets at most 10 streams answered; the others are refused (sent before the
    // client had the SETTINGS) or wait on the client's side for a free stream.
    await until("the flood to reach the cap", () => floods.every((f) => f.state.responded === 10));
    for (const f of floods) {
      expect(f.session.remoteSettings.maxConcurrentStreams).toBe(10);
      expect(f.state.responded + f.state.refused).toBeLessThanOrEqual(40);
    }
    const fresh = connectH2(server.url);
    expect(await h2Get(fresh, "/hello")).toEqual({ status: 200, body: '{"hello":"world"}' });
    const line = await until("the log line", () =>
      server.logged.find((l) => l.limit === "http2_max_concurrent_streams"),
    );
    expect(line).toMatchObject({ msg: "limit reached", remote_address: "127.0.0.1" });
    // Once per interval, not once per stream.
    expect(
      server.logged.filter((l) => l.limit === "http2_max_concurrent_streams" && l.msg === "limit reached"),
    ).toHaveLength(1);
  });

  it("a session holding more unread response bytes than its memory bound has its largest streams reset", async () => {
    const server = await start({ http2MaxConcurrentStreams: 100, http2StalledStreamMs: 0, http2MaxSessionMemoryMb: 1 });
    const session = connectH2(server.url);
    // 20 × 256 KiB unread = 5 MiB held for a client that reads nothing; the bound is 1 MiB.
    const state = openUnread(session, 20);
    await until("streams reset with ENHANCE_YOUR_CALM", () => state.calmed >= 10);
    expect(state.calmed).toBeLessThanOrEqual(20);
    expect(await h2Get(connectH2(server.url), "/hello")).toMatchObject({ status: 200 });
    await until("the log line", () =>
      server.logged.find((l) => l.limit === "http2_max_session_memory" && l.remote_address === "127.0.0.1"),
    );
  });

  it("a stream whose response makes no progress is reset after the stall timeout, and logged", async () => {
    const server = await start({
      http2MaxConcurrentStreams: 100,
      http2StalledStreamMs: 200,
      http2MaxSessionMemoryMb: 64,
    });
    const session = connectH2(server.url);
    const state = openUnread(session, 3);
    await until("the stalled streams to be cancelled", () => state.cancelled === 3);
    await until("the log line", () => server.logged.find((l) => l.limit === "http2_stalled_stream"));
    // A client that reads is not affected: the whole response arrives.
    expect((await h2Get(session, "/big")).body).toHaveLength(big.length);
  });

  it("a header block over the bound resets the stream; the session stays usable", async () => {
    const server = await start({ maxHeaderBytes: 4096 });
    const session = connectH2(server.url);
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    expect(session.remoteSettings.maxHeaderListSize).toBe(4096);
    const rst = await new Promise<number>((resolve) => {
      const req = session.request({ ":path": "/hello", "x-big": "a".repeat(8192) });
      req.on("error", () => {});
      req.on("close", () => resolve(req.rstCode ?? -1));
      req.end();
    });
    expect(rst).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(await h2Get(session, "/hello")).toMatchObject({ status: 200 });
  });
});

/** A raw TCP connection; resolves once it is closed by the server, or stays open. */
function rawConnect(port: number, localAddress = "127.0.0.1") {
  const socket = net.connect({ port, host: "127.0.0.1", localAddress });
  sockets.push(socket);
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  return { socket, closed, connected, isClosed: () => isClosed };
}

function h1Get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("connection bounds", () => {
  it("connections over the server's cap are closed at once and logged; a freed slot serves again", async () => {
    const server = await start({ maxConnections: 4, maxConnectionsPerAddress: 0 });
    const held = Array.from({ length: 4 }, () => rawConnect(server.port));
    await Promise.all(held.map((c) => c.connected));
    // The kernel completes connections before the server accepts them, in order: the fifth is
    // accepted after the four, and closed.
    const over = rawConnect(server.port);
    await over.closed;
    expect(held.every((c) => !c.isClosed())).toBe(true);
    await until("the log line", () =>
      server.logged.find((l) => l.limit === "max_connections" && l.remote_address === "127.0.0.1"),
    );
    held[0]!.socket.destroy();
    await held[0]!.closed;
    // The server sees the close when it reads it: until then the slot is still taken.
    const served = await until("a new connection to be served", () =>
      h1Get(server.port, "/hello").catch(() => undefined),
    );
    expect(served).toEqual({ status: 200, body: '{"hello":"world"}' });
  });

  it("connections from one address over its cap are closed and logged; other addresses are served", async () => {
    const server = await start({ maxConnections: 100, maxConnectionsPerAddress: 3 });
    const held = Array.from({ length: 3 }, () => rawConnect(server.port));
    await Promise.all(held.map((c) => c.connected));
    const over = rawConnect(server.port);
    await over.closed;
    await until("the log line", () =>
      server.logged.find((l) => l.limit === "max_connections_per_address" && l.remote_address === "127.0.0.1"),
    );
    // Another loopback address has its own count.
    const other = rawConnect(server.port, "127.0.0.2");
    await other.connected;
    other.socket.write("GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let answer = "";
    other.socket.on("data", (c: Buffer) => (answer += c.toString()));
    await other.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(held.every((c) => !c.isClosed())).toBe(true);
  });

  it("HTTP/1.1 headers over the bound → 431, logged", async () => {
    const server = await start({ maxHeaderBytes: 4096 });
    expect((await h1Get(server.port, "/hello", { "x-big": "a".repeat(8192) })).status).toBe(431);
    expect((await h1Get(server.port, "/hello", { "x-ok": "a".repeat(1000) })).status).toBe(200);
    await until("the log line", () => server.logged.find((l) => l.limit === "max_header_bytes"));
  });
});
