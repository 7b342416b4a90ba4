import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import tls from "node:tls";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOnePortFastify } from "./one-port-server.js";
import { createTestCa, type TestCa, writePemFiles } from "./testing/test-pki.js";

// Certificates rotated under a running server: new connections get the new ones, a bad new file is
// logged and the old context kept, and open connections are left alone.

const deadlineMs = 20_000;
let ca: TestCa;
let otherCa: TestCa;
const dirs: string[] = [];
const apps: FastifyInstance[] = [];

beforeAll(() => {
  ca = createTestCa();
  otherCa = createTestCa("another CA");
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string };
}

async function startServer(options: { clientCa?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tls-reload-"));
  dirs.push(dir);
  const first = ca.issue({ commonName: "first" });
  const files = writePemFiles(dir, {
    "cert.pem": first.cert,
    "key.pem": first.key,
    ...(options.clientCa === true && { "ca.pem": ca.cert }),
  });
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const caFile = "ca.pem" in files ? files["ca.pem"] : undefined;
  const app = createOnePortFastify({
    logger: { level: "info", stream },
    tls: {
      cert: first.cert,
      key: first.key,
      ...(caFile !== undefined && { ca: ca.cert, clientAuth: "require" as const }),
      reload: { files: { cert: files["cert.pem"], key: files["key.pem"], ca: caFile }, intervalMs: 50 },
    },
  });
  apps.push(app);
  app.get("/hello", async () => ({ hello: "world" }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port, files, caFile, dir, lines };
}

/** The CN of the certificate a new connection is served (HTTP/1.1 and h2 share the TLS server). */
function servedCn(port: number, client: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: [ca.cert, otherCa.cert], ...client }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(Array.isArray(cn) ? String(cn[0]) : String(cn));
    });
    socket.on("error", reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${String(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Writes a file as a rotation should (a new file renamed over the old one), so a look never sees a
 * half-written file: the tests below are about what the server does with whole files.
 */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

describe("certificate reload", () => {
  it("serves a rotated certificate to new connections; an open h2 session keeps working", async () => {
    const s = await startServer();
    expect(await servedCn(s.port)).toBe("first");
    const session = http2.connect(`https://localhost:${s.port}`, { ca: ca.cert });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = session.request({ ":path": "/hello" });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.on("error", reject);
        req.resume();
        req.end();
      });
    expect(await get()).toBe(200);

    const next = ca.issue({ commonName: "second" });
    replaceFile(s.files["cert.pem"], next.cert);
    replaceFile(s.files["key.pem"], next.key);
    await until(
      "the new certificate",
      () => servedCn(s.port),
      (cn) => cn === "second",
    );
    expect(await get()).toBe(200);
    session.close();
    expect(s.lines.some((l) => l.msg.startsWith("TLS files changed"))).toBe(true);
  });

  it("keeps the certificate in use when the new files are bad, logs it once, and takes the next good ones", async () => {
    const s = await startServer();
    replaceFile(s.files["key.pem"], "not a key");
    await until(
      "the error to be logged",
      async () => s.lines.filter((l) => l.level >= 50).length,
      (n) => n > 0,
    );
    // Looked at again every 50 ms since: still that one line (a bad file is not logged on every look).
    await new Promise((r) => setTimeout(r, 300));
    const errors = s.lines.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/cannot be used; the certificates in use stay/);
    expect(await servedCn(s.port)).toBe("first");

    // A half-done rotation (new cert, old key) is refused too; the second write completes it.
    const next = ca.issue({ commonName: "second" });
    const mixedKey = ca.issue({ commonName: "unrelated" }).key;
    replaceFile(s.files["key.pem"], mixedKey);
    replaceFile(s.files["cert.pem"], next.cert);
    // A look between the two writes (or in the middle of one) may log another reason first.
    await until(
      "the mismatch to be logged",
      async () => s.lines.some((l) => /key values mismatch/.test(l.err?.message ?? "")),
      (seen) => seen,
    );
    expect(await servedCn(s.port)).toBe("first");
    replaceFile(s.files["key.pem"], next.key);
    await until(
      "the completed rotation",
      () => servedCn(s.port),
      (cn) => cn === "second",
    );
  });

  it("keeps the certificate in use rather than switch to an expired one", async () => {
    const s = await startServer();
    const expired = ca.issue({
      commonName: "expired",
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    replaceFile(s.files["key.pem"], expired.key);
    replaceFile(s.files["cert.pem"], expired.cert);
    await until(
      "the refusal",
      async () => s.lines.filter((l) => l.err?.message?.includes("expired")).length,
      (n) => n > 0,
    );
    expect(await servedCn(s.port)).toBe("first");
  });

  it("keeps serving when a file disappears, and picks it up when it is back", async () => {
    const s = await startServer();
    const next = ca.issue({ commonName: "second" });
    rmSync(s.files["cert.pem"]);
    await until(
      "the read error",
      async () => s.lines.filter((l) => l.level >= 50).length,
      (n) => n > 0,
    );
    expect(s.lines.at(-1)?.msg).toMatch(/cannot read the TLS files/);
    expect(await servedCn(s.port)).toBe("first");
    replaceFile(s.files["key.pem"], next.key);
    replaceFile(s.files["cert.pem"], next.cert);
    await until(
      "the new certificate",
      () => servedCn(s.port),
      (cn) => cn === "second",
    );
  });

  it("reloads the client CA bundle: clients of the new CA get in, the old CA's are refused", async () => {
    const s = await startServer({ clientCa: true });
    const oldClient = ca.issue({ commonName: "old-ca-client", usage: ["client"] });
    const newClient = otherCa.issue({ commonName: "new-ca-client", usage: ["client"] });
    const status = (leaf: { cert: string; key: string }) =>
      new Promise<string>((resolve) => {
        const session = http2.connect(`https://localhost:${s.port}`, { ca: ca.cert, cert: leaf.cert, key: leaf.key });
        session.on("error", (e: Error) => resolve(`refused: ${e.message}`));
        const req = session.request({ ":path": "/hello" });
        req.on("response", (h) => resolve(String(h[":status"])));
        req.on("error", (e: Error) => resolve(`refused: ${e.message}`));
        req.on("close", () => {
          session.close();
          resolve("refused: closed");
        });
        req.resume();
        req.end();
      });
    expect(await status(oldClient)).toBe("200");
    expect(await status(newClient)).toMatch(/^refused/);
    replaceFile(s.caFile ?? "", otherCa.cert);
    await until(
      "the new CA",
      () => status(newClient),
      (st) => st === "200",
    );
    expect(await status(oldClient)).toMatch(/^refused/);
  });
});
