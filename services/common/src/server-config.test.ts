import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createEnvReader, type Env } from "./env-config.js";
import { openFileLimit, readMongoSettings, readServerSettings } from "./server-config.js";
import { configProblems } from "./testing/config-problems.js";
import { createTestCa, writePemFiles } from "./testing/test-pki.js";

function read(env: Env) {
  const r = createEnvReader(env);
  const settings = { ...readServerSettings(r, "SVC_PORT", 8100), ...readMongoSettings(r) };
  r.done();
  return settings;
}

const problemsOf = (env: Env) => configProblems(() => read(env));

/** A server certificate and key, another key, a CA and a file that is not PEM, on disk (made once). */
let made: ReturnType<typeof makePki> | undefined;
function pki() {
  made ??= makePki();
  return made;
}

function makePki() {
  const ca = createTestCa();
  const leaf = ca.issue({ commonName: "localhost", usage: ["server"] });
  const paths = writePemFiles(mkdtempSync(path.join(tmpdir(), "server-config-")), {
    "cert.pem": leaf.cert,
    "key.pem": leaf.key,
    "ca.pem": ca.cert,
    "other-key.pem": ca.issue({ commonName: "other" }).key,
    "garbage.pem": "not PEM at all",
  });
  const env = { TLS_CERT_FILE: paths["cert.pem"], TLS_KEY_FILE: paths["key.pem"], CA: paths["ca.pem"] };
  const { CA: _, ...settingsEnv } = env;
  return {
    env,
    paths,
    files: { serverCert: leaf.cert, serverKey: leaf.key, paths },
    tls: read(settingsEnv).tls,
  };
}

describe("server and MongoDB settings", () => {
  it("defaults to loopback, the service's port, info logs, 1 MiB messages, cleartext, in-memory storage", () => {
    expect(read({})).toMatchObject({
      host: "127.0.0.1",
      port: 8100,
      logLevel: "info",
      logRequests: false,
      readMaxBytes: 1024 * 1024,
      tls: undefined,
      cors: { allowedOrigins: [], maxAgeSeconds: 7200 },
      mongodbUri: undefined,
      mongodbTimeoutMs: 2000,
    });
  });

  it("reads TLS files when both are given: no client certificates, reloaded every 5 s", () => {
    const { tls, files } = pki();
    expect(tls?.cert.toString()).toBe(files.serverCert);
    expect(tls?.key.toString()).toBe(files.serverKey);
    expect(tls).toMatchObject({
      clientAuth: "none",
      ca: undefined,
      reload: { intervalMs: 5000, files: { cert: files.paths["cert.pem"], key: files.paths["key.pem"] } },
    });
  });

  it("requires client certificates once TLS_CLIENT_CA_FILE is set, unless TLS_CLIENT_AUTH=request", () => {
    const base = pki().env;
    const required = read({ ...base, TLS_CLIENT_CA_FILE: base.CA }).tls;
    expect(required?.clientAuth).toBe("require");
    expect(required?.ca?.toString()).toContain("BEGIN CERTIFICATE");
    expect(read({ ...base, TLS_CLIENT_CA_FILE: base.CA, TLS_CLIENT_AUTH: "request" }).tls?.clientAuth).toBe("request");
    expect(read({ ...base, TLS_RELOAD_INTERVAL_MS: "0" }).tls?.reload).toBeUndefined();
  });

  it("refuses TLS settings that do not fit together, naming the variables", () => {
    const base = pki().env;
    expect(problemsOf({ TLS_CLIENT_CA_FILE: base.CA })).toEqual([
      "TLS_CLIENT_CA_FILE and TLS_CLIENT_AUTH need TLS: set TLS_CERT_FILE and TLS_KEY_FILE too",
    ]);
    expect(problemsOf({ ...base, TLS_CLIENT_AUTH: "require" })).toEqual([
      "TLS_CLIENT_AUTH=require needs TLS_CLIENT_CA_FILE: the CA bundle client certificates must chain to",
    ]);
    expect(problemsOf({ ...base, TLS_CLIENT_CA_FILE: base.CA, TLS_CLIENT_AUTH: "none" })).toEqual([
      "TLS_CLIENT_CA_FILE is set but TLS_CLIENT_AUTH=none asks for no client certificate: use request or require",
    ]);
    expect(problemsOf({ ...base, TLS_CLIENT_AUTH: "always" })).toEqual([
      'TLS_CLIENT_AUTH must be one of none | request | require, got "always"',
    ]);
  });

  it("refuses at start-up a key that does not match its certificate, or a file that is not PEM", () => {
    const { env, paths } = pki();
    const [mismatch] = problemsOf({ ...env, TLS_KEY_FILE: paths["other-key.pem"] });
    expect(mismatch).toMatch(/^TLS_CERT_FILE\/TLS_KEY_FILE are not a usable certificate, key: .*key values mismatch/);
    const [garbage] = problemsOf({ ...env, TLS_CLIENT_CA_FILE: paths["garbage.pem"] });
    expect(garbage).toMatch(/^TLS_CERT_FILE\/TLS_KEY_FILE\/TLS_CLIENT_CA_FILE are not a usable/);
  });

  it("names every bad variable at once", () => {
    expect(
      problemsOf({
        SVC_PORT: "70000",
        LOG_LEVEL: "loud",
        LOG_REQUESTS: "sometimes",
        READ_MAX_BYTES: "10",
        TLS_CERT_FILE: "/only/the/cert.pem",
        MONGODB_URI: "postgres://x",
        MONGODB_TIMEOUT_MS: "0",
      }),
    ).toEqual([
      'SVC_PORT must be a whole number from 0 to 65535, got "70000"',
      'LOG_LEVEL must be one of fatal | error | warn | info | debug | trace | silent, got "loud"',
      'LOG_REQUESTS must be true or false, got "sometimes"',
      'READ_MAX_BYTES must be a whole number from 1024 to 67108864, got "10"',
      "TLS_CERT_FILE and TLS_KEY_FILE must be set together (or neither, for cleartext)",
      'MONGODB_URI must start with mongodb:// or mongodb+srv://, got "postgres://x"',
      'MONGODB_TIMEOUT_MS must be a whole number from 50 to 60000, got "0"',
    ]);
  });

  it("says which TLS file it cannot read", () => {
    const [problem] = problemsOf({ TLS_CERT_FILE: "/no/such/cert.pem", TLS_KEY_FILE: "/no/such/key.pem" });
    expect(problem).toMatch(/^cannot read the TLS files: .*\/no\/such\/cert\.pem/);
  });
});

describe("connection limits", () => {
  it("defaults: streams 100, 10 MB a session, 16 KiB of headers, 256 connections an address", () => {
    const { connectionLimits } = read({});
    expect(connectionLimits).toMatchObject({
      maxConnectionsPerAddress: 256,
      maxHeaderBytes: 16384,
      http2MaxConcurrentStreams: 100,
      http2MaxSessionMemoryMb: 10,
      http2StalledStreamMs: 30000,
    });
    // Below the process's file limit (if it has one), so that the cap, not the kernel, refuses.
    const files = openFileLimit();
    expect(connectionLimits.maxConnections).toBe(
      files === undefined ? 4096 : Math.max(16, Math.min(4096, files - 128)),
    );
  });

  it("reads each from the environment and names the bad ones", () => {
    expect(
      read({ MAX_CONNECTIONS: "50", MAX_CONNECTIONS_PER_ADDRESS: "0", HTTP2_MAX_CONCURRENT_STREAMS: "8" })
        .connectionLimits,
    ).toMatchObject({
      maxConnections: 50,
      maxConnectionsPerAddress: 0,
      http2MaxConcurrentStreams: 8,
    });
    const problems = problemsOf({ MAX_CONNECTIONS: "0", MAX_HEADER_BYTES: "10", HTTP2_MAX_SESSION_MEMORY_MB: "lots" });
    expect(problems.join("\n")).toMatch(/MAX_CONNECTIONS/);
    expect(problems.join("\n")).toMatch(/MAX_HEADER_BYTES/);
    expect(problems.join("\n")).toMatch(/HTTP2_MAX_SESSION_MEMORY_MB/);
  });

  it("reads the soft open-file limit from /proc/self/limits", () => {
    const limits = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;
    expect(openFileLimit(limits)).toBe(1024);
    expect(openFileLimit(limits.replace("1024  ", "unlimited"))).toBeUndefined();
    expect(openFileLimit("nothing here")).toBeUndefined();
  });
});
