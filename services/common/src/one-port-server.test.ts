import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOnePortFastify, type OnePortOptions } from "./one-port-server.js";
import { createTestCa } from "./testing/test-pki.js";

// Deadlines for things that should happen at once; generous so a loaded CI machine does not flake.
const soon = 10_000;

interface Answer {
  status: number;
  /** The HTTP version the server saw, as fastify's request reported it. */
  version: string;
  connection: string | undefined;
  body: string;
}

interface Cert {
  cert: Buffer;
  key: Buffer;
  /** The CA that issued cert, for the clients to trust. */
  ca: Buffer;
}

let cert: Cert | undefined;

beforeAll(() => {
  // Made at test time (test-pki.ts), so that no key is ever committed.
  const ca = createTestCa();
  const leaf = ca.issue({ commonName: "localhost", usage: ["server"] });
  cert = { cert: Buffer.from(leaf.cert), key: Buffer.from(leaf.key), ca: Buffer.from(ca.cert) };
});

const apps: FastifyInstance[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

interface Started {
  app: FastifyInstance;
  port: number;
  /** Resolves when the next request reaches the /wait route. */
  entered: () => Promise<void>;
  /** Lets every request waiting in /wait answer. */
  release: () => void;
}

async function start(options: OnePortOptions): Promise<Started> {
  const app = createOnePortFastify(options);
  apps.push(app);
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const waiting: (() => void)[] = [];
  app.addHook("onSend", async (req, reply) => {
    reply.header("x-seen-version", req.raw.httpVersion);
  });
  app.get("/hello", async () => ({ hello: "world" }));
  app.post("/echo", async (req) => ({ echo: req.body }));
  app.get("/wait", async () => {
    waiting.shift()?.();
    await gate;
    return { waited: true };
  });
  cleanups.push(() => release());
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("expected a TCP address");
  return {
    app,
    port: address.port,
    entered: () => new Promise<void>((resolve) => waiting.push(resolve)),
    release: () => release(),
  };
}

interface Transport {
  name: string;
  tls: () => Cert | undefined;
  origin: (port: number) => string;
}

const transports: Transport[] = [
  { name: "cleartext", tls: () => undefined, origin: (port) => `http://127.0.0.1:${port}` },
  {
    name: "TLS",
    tls: () => {
      if (cert === undefined) throw new Error("no test certificate");
      return cert;
    },
    origin: (port) => `https://127.0.0.1:${port}`,
  },
];

interface H1Request {
  method?: string;
  path: string;
  body?: string;
  agent: http.Agent;
  ca: Buffer | undefined;
  onSocket?: (socket: net.Socket) => void;
}

function h1Request(origin: string, r: H1Request): Promise<Answer> {
  const url = new URL(r.path, origin);
  const headers: http.OutgoingHttpHeaders = r.body === undefined ? {} : { "content-type": "application/json" };
  return new Promise<Answer>((resolve, reject) => {
    const options = { method: r.method ?? "GET", headers, agent: r.agent, ca: r.ca };
    const req = url.protocol === "https:" ? https.request(url, options) : http.request(url, options);
    req.on("socket", (socket) => r.onSocket?.(socket));
    req.on("error", reject);
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          version: String(res.headers["x-seen-version"]),
          connection: res.headers.connection,
          body,
        }),
      );
    });
    req.end(r.body);
  });
}

function h2Connect(origin: string, ca: Buffer | undefined): http2.ClientHttp2Session {
  const session = http2.connect(origin, { ca });
  // Errors show up on the requests; this keeps a reset session from failing the run.
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  return session;
}

function h2Request(
  session: http2.ClientHttp2Session,
  r: { method?: string; path: string; body?: string },
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    // No content-length: HTTP/2 clients need not send one, and fastify must still read the body.
    const headers: http2.OutgoingHttpHeaders = { ":method": r.method ?? "GET", ":path": r.path };
    if (r.body !== undefined) headers["content-type"] = "application/json";
    const stream = session.request(headers);
    let status = 0;
    let version = "";
    let body = "";
    let ended = false;
    stream.setEncoding("utf8");
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      version = String(h["x-seen-version"]);
    });
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => {
      ended = true;
      if (status === 0) reject(new Error("stream ended without a response"));
      else resolve({ status, version, connection: undefined, body });
    });
    stream.on("error", reject);
    stream.on("close", () => {
      if (!ended) reject(new Error(`stream closed before its end (rstCode ${stream.rstCode})`));
    });
    stream.end(r.body);
  });
}

/** Resolves with `event`'s arguments, or rejects if it does not come within `ms`. */
function eventWithin(emitter: NodeJS.EventEmitter, event: string, ms: number): Promise<unknown[]> {
  return once(emitter, event, { signal: AbortSignal.timeout(ms) });
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = soon): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** TCP connections the listening server holds open, as Node counts them (not as our tracker does). */
function openConnections(app: FastifyInstance): Promise<number> {
  return new Promise((resolve, reject) =>
    app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );
}

/** A plain TCP connection, or a TLS one that asks for HTTP/1.1 by ALPN. */
async function rawConnect(port: number, secure: boolean): Promise<net.Socket> {
  const socket = secure
    ? tls.connect({ port, host: "127.0.0.1", ALPNProtocols: ["http/1.1"], rejectUnauthorized: false })
    : net.connect({ port, host: "127.0.0.1" });
  socket.on("error", () => {});
  cleanups.push(() => socket.destroy());
  await eventWithin(socket, secure ? "secureConnect" : "connect", soon);
  return socket;
}

function collect(socket: net.Socket): () => string {
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  return () => received;
}

for (const transport of transports) {
  describe(`one port over ${transport.name}`, () => {
    const secure = transport.name === "TLS";
    const ca = (): Buffer | undefined => transport.tls()?.ca;
    const startWith = (options: OnePortOptions = {}): Promise<Started> => start({ tls: transport.tls(), ...options });

    it("answers GET, JSON POST and 404 identically over HTTP/1.1 and HTTP/2", async () => {
      const { port } = await startWith();
      const origin = transport.origin(port);
      const agent = new http.Agent({ keepAlive: true });
      const tlsAgent = new https.Agent({ keepAlive: true });
      cleanups.push(
        () => agent.destroy(),
        () => tlsAgent.destroy(),
      );
      const sockets = new Set<net.Socket>();
      const viaH1 = (r: { method?: string; path: string; body?: string }): Promise<Answer> =>
        h1Request(origin, { ...r, agent: secure ? tlsAgent : agent, ca: ca(), onSocket: (s) => sockets.add(s) });
      const session = h2Connect(origin, ca());
      const viaH2 = (r: { method?: string; path: string; body?: string }): Promise<Answer> => h2Request(session, r);

      const calls = [
        { path: "/hello" },
        { method: "POST", path: "/echo", body: JSON.stringify({ sku: "4006381333931", qty: 3 }) },
        { path: "/no-such-route" },
      ];
      const h1 = [];
      for (const call of calls) h1.push(await viaH1(call));
      const h2 = await Promise.all(calls.map(viaH2));

      expect(h1.map((a) => a.status)).toEqual([200, 200, 404]);
      expect(JSON.parse(h1[0]?.body ?? "")).toEqual({ hello: "world" });
      expect(JSON.parse(h1[1]?.body ?? "")).toEqual({ echo: { sku: "4006381333931", qty: 3 } });
      expect(h1.map((a) => a.version)).toEqual(["1.1", "1.1", "1.1"]);
      expect(h2.map((a) => a.version)).toEqual(["2.0", "2.0", "2.0"]);
      expect(h2.map((a) => [a.status, a.body])).toEqual(h1.map((a) => [a.status, a.body]));
      // keep-alive really kept one connection for the three HTTP/1.1 requests
      expect(sockets.size).toBe(1);
    });

    it("offers HTTP/2 streams to frontStream first; what it declines reaches fastify, HTTP/1.1 goes to front", async () => {
      const seenByFront: string[] = [];
      const { port } = await startWith({
        front: (req) => {
          seenByFront.push(`${req.httpVersion} ${req.url}`);
          return false;
        },
        frontStream: (stream, headers) => {
          if (headers[":path"] !== "/taken") return false;
          stream.respond({ ":status": 200, "x-seen-version": "stream" });
          stream.end("taken");
          return true;
        },
      });
      const origin = transport.origin(port);
      const session = h2Connect(origin, ca());
      const agent = new http.Agent();
      cleanups.push(() => agent.destroy());

      expect(await h2Request(session, { path: "/taken" })).toEqual({
        status: 200,
        version: "stream",
        connection: undefined,
        body: "taken",
      });
      const declined = await h2Request(session, { method: "POST", path: "/echo", body: '{"a":1}' });
      expect([declined.status, declined.version, declined.body]).toEqual([200, "2.0", '{"echo":{"a":1}}']);
      const h1 = await h1Request(origin, { path: "/hello", agent: secure ? new https.Agent() : agent, ca: ca() });
      expect([h1.status, h1.version]).toEqual([200, "1.1"]);
      // HTTP/2 requests were decided by frontStream already; front sees only HTTP/1.1.
      expect(seenByFront).toEqual(["1.1 /hello"]);
    });

    it("closes promptly while an HTTP/2 session and an idle HTTP/1.1 keep-alive connection are open", async () => {
      const { app, port } = await startWith();
      const origin = transport.origin(port);
      const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      cleanups.push(() => agent.destroy());
      let h1Socket: net.Socket | undefined;
      const h1 = await h1Request(origin, { path: "/hello", agent, ca: ca(), onSocket: (s) => (h1Socket = s) });
      const session = h2Connect(origin, ca());
      const h2 = await h2Request(session, { path: "/hello" });
      expect([h1.version, h2.version]).toEqual(["1.1", "2.0"]);
      expect(await openConnections(app)).toBe(2);
      if (h1Socket === undefined) throw new Error("no HTTP/1.1 socket");
      const h1Closed = eventWithin(h1Socket, "close", soon);
      const h2Closed = eventWithin(session, "close", soon);

      const started = Date.now();
      await app.close();
      expect(Date.now() - started).toBeLessThan(soon);
      await h1Closed;
      await h2Closed;
      expect(await openConnections(app)).toBe(0);
    });

    it("lets in-flight requests finish on close, then closes their connections", async () => {
      const { app, port, entered, release } = await startWith();
      const origin = transport.origin(port);
      const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      cleanups.push(() => agent.destroy());
      const session = h2Connect(origin, ca());
      const bothEntered = Promise.all([entered(), entered()]);
      const h1 = h1Request(origin, { path: "/wait", agent, ca: ca() });
      const h2 = h2Request(session, { path: "/wait" });
      await bothEntered;

      let closed = false;
      const closing = app.close().then(() => (closed = true));
      await eventWithin(session, "goaway", soon);
      expect(closed).toBe(false);
      release();

      const [a1, a2] = await Promise.all([h1, h2]);
      expect([a1.status, a1.body]).toEqual([200, '{"waited":true}']);
      // the client learns not to reuse the connection
      expect(a1.connection).toBe("close");
      expect([a2.status, a2.body]).toEqual([200, '{"waited":true}']);
      await closing;
    });

    it("destroys connections whose requests outlast closeGraceMs", async () => {
      const { app, port, entered } = await startWith({ closeGraceMs: 300 });
      const origin = transport.origin(port);
      const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      cleanups.push(() => agent.destroy());
      const session = h2Connect(origin, ca());
      const bothEntered = Promise.all([entered(), entered()]);
      const outcome = (p: Promise<Answer>): Promise<string> =>
        p.then(
          (a) => `answered ${a.status}`,
          () => "failed",
        );
      const h1 = outcome(h1Request(origin, { path: "/wait", agent, ca: ca() }));
      const h2 = outcome(h2Request(session, { path: "/wait" }));
      await bothEntered;

      const started = Date.now();
      await app.close();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(300 + soon);
      expect(await h1).toBe("failed");
      expect(await h2).toBe("failed");
    });

    it("closes a connection that sends nothing after firstByteTimeoutMs", async () => {
      const { app, port } = await startWith({ firstByteTimeoutMs: 200 });
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.on("error", () => {});
      cleanups.push(() => socket.destroy());
      await eventWithin(socket, "connect", soon);
      const started = Date.now();
      await eventWithin(socket, "close", 200 + soon);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      await waitFor("the server to let go of the connection", async () => (await openConnections(app)) === 0);
    });

    it("answers 408 to an HTTP/1.1 client that never finishes its headers", async () => {
      const { port } = await startWith({ headersTimeoutMs: 300 });
      const socket = await rawConnect(port, secure);
      const received = collect(socket);
      socket.write("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      await eventWithin(socket, "close", 300 + 2 * soon);
      expect(received()).toMatch(/^HTTP\/1\.1 408 /);
    });

    it("closes idle connections after idleTimeoutMs", async () => {
      const { port } = await startWith({ idleTimeoutMs: 300 });
      // A raw socket: Node's agent would close first, on the server's Keep-Alive hint.
      const socket = await rawConnect(port, secure);
      const received = collect(socket);
      socket.write("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await waitFor("the response", () => received().endsWith('{"hello":"world"}'));
      const h1Idle = Date.now();
      // Node adds a buffer (1 s in Node 20) to keepAliveTimeout on the server side.
      const h1Closed = eventWithin(socket, "close", 300 + 1_000 + soon).then(() => Date.now() - h1Idle);
      const session = h2Connect(transport.origin(port), ca());
      await h2Request(session, { path: "/hello" });
      const h2Idle = Date.now();
      const h2Closed = eventWithin(session, "close", 300 + soon).then(() => Date.now() - h2Idle);

      expect(received()).toMatch(/^HTTP\/1\.1 200 /);
      expect(await h1Closed).toBeGreaterThanOrEqual(250);
      expect(await h2Closed).toBeGreaterThanOrEqual(250);
    });

    it("survives garbage and keeps serving", async () => {
      const { port } = await startWith();
      const origin = transport.origin(port);
      const garbage = "\x00\x01\x02garbage\r\n\r\n";
      // Garbage where HTTP is expected: a 400 or a plain close.
      const socket = await rawConnect(port, secure);
      const received = collect(socket);
      socket.write(garbage);
      await eventWithin(socket, "close", soon);
      expect(received()).toMatch(/^(HTTP\/1\.1 400 |$)/);
      if (secure) {
        // Garbage where a TLS handshake is expected.
        const tcp = net.connect({ port, host: "127.0.0.1" });
        tcp.on("error", () => {});
        cleanups.push(() => tcp.destroy());
        tcp.write(garbage);
        await eventWithin(tcp, "close", soon);
      }

      const agent = secure ? new https.Agent() : new http.Agent();
      cleanups.push(() => agent.destroy());
      expect((await h1Request(origin, { path: "/hello", agent, ca: ca() })).status).toBe(200);
      expect((await h2Request(h2Connect(origin, ca()), { path: "/hello" })).status).toBe(200);
    });

    it("serves many concurrent requests on one HTTP/2 session", async () => {
      const { app, port } = await startWith();
      const session = h2Connect(transport.origin(port), ca());
      const n = 100;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          h2Request(session, { method: "POST", path: "/echo", body: JSON.stringify({ i }) }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: n }, () => 200));
      expect(answers.map((a) => JSON.parse(a.body))).toEqual(Array.from({ length: n }, (_, i) => ({ echo: { i } })));
      expect(await openConnections(app)).toBe(1);
    });
  });
}

describe("one port over cleartext: sniffing", () => {
  it("recognises an HTTP/2 preface that arrives in two TCP writes", async () => {
    const { app, port } = await start({});
    const tcp = net.connect({ port, host: "127.0.0.1" });
    tcp.setNoDelay(true);
    cleanups.push(() => tcp.destroy());
    await eventWithin(tcp, "connect", soon);
    let firstWrite = "";
    // The HTTP/2 client writes through this stream; it sends the first 10 bytes of its first write
    // (the preface) alone, and the rest only once the server holds the connection.
    let split = false;
    const relay = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        if (split) {
          tcp.write(chunk, callback);
          return;
        }
        split = true;
        firstWrite = chunk.toString("latin1");
        tcp.write(chunk.subarray(0, 10));
        waitFor("the server to accept", async () => (await openConnections(app)) === 1)
          // A pause so the two parts reach the server as separate reads; its length does not matter.
          .then(() => new Promise((resolve) => setTimeout(resolve, 50)))
          .then(() => tcp.write(chunk.subarray(10), callback), callback);
      },
    });
    tcp.on("data", (chunk: Buffer) => relay.push(chunk));
    tcp.on("end", () => relay.push(null));
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => relay });
    session.on("error", () => {});
    cleanups.push(() => session.destroy());

    const answer = await h2Request(session, { path: "/hello" });
    expect(firstWrite.startsWith("PRI * HTTP/2.0")).toBe(true);
    expect([answer.status, answer.version, answer.body]).toEqual([200, "2.0", '{"hello":"world"}']);
  });

  it("treats bytes that start like the preface but differ as HTTP/1.1", async () => {
    const { port } = await start({});
    const socket = await rawConnect(port, false);
    const received = collect(socket);
    socket.write("PRI * HTTP/1.1\r\nHost: x\r\n\r\n");
    await eventWithin(socket, "close", soon);
    expect(received()).toMatch(/^HTTP\/1\.1 (400|404) /);
  });

  it("rejects timeouts that are not positive", () => {
    expect(() => createOnePortFastify({ firstByteTimeoutMs: 0 })).toThrow(/firstByteTimeoutMs must be a positive/);
    expect(() => createOnePortFastify({ closeGraceMs: Number.NaN })).toThrow(/closeGraceMs/);
  });
});
