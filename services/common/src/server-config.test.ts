import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createEnvReader, type Env } from "./env-config.js";
import { readMongoSettings, readServerSettings } from "./server-config.js";
import { configProblems } from "./testing/config-problems.js";

function read(env: Env) {
  const r = createEnvReader(env);
  const settings = { ...readServerSettings(r, "SVC_PORT", 8100), ...readMongoSettings(r) };
  r.done();
  return settings;
}

const problemsOf = (env: Env) => configProblems(() => read(env));

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

  it("reads TLS files when both are given", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "server-config-"));
    writeFileSync(path.join(dir, "cert.pem"), "CERT");
    writeFileSync(path.join(dir, "key.pem"), "KEY");
    const { tls } = read({ TLS_CERT_FILE: path.join(dir, "cert.pem"), TLS_KEY_FILE: path.join(dir, "key.pem") });
    expect(tls?.cert.toString()).toBe("CERT");
    expect(tls?.key.toString()).toBe("KEY");
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
    expect(problem).toMatch(/^cannot read TLS_CERT_FILE\/TLS_KEY_FILE: .*\/no\/such\/cert\.pem/);
  });
});
