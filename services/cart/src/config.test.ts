import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Env } from "@pos/common";
import { configProblems, createTestCa, writePemFiles } from "@pos/common/testing";
import { describe, expect, it } from "vitest";
import { readCartConfig } from "./config.js";

const problemsOf = (env: Env) => configProblems(() => readCartConfig(env));

describe("cart config: TLS towards master-data", () => {
  const ca = createTestCa();
  const cart = ca.issue({ commonName: "cart", usage: ["client"] });
  const paths = writePemFiles(mkdtempSync(join(tmpdir(), "cart-config-tls-")), {
    "ca.pem": ca.cert,
    "cart.pem": cart.cert,
    "cart-key.pem": cart.key,
    "other-key.pem": ca.issue({ commonName: "other", usage: ["client"] }).key,
  });
  const https = { MASTER_DATA_URL: "https://master-data.internal:8002" };

  it("reads the CA and client certificate files, reloaded every 5 s", () => {
    const { masterData } = readCartConfig({
      ...https,
      MASTER_DATA_CA_FILE: paths["ca.pem"],
      MASTER_DATA_CLIENT_CERT_FILE: paths["cart.pem"],
      MASTER_DATA_CLIENT_KEY_FILE: paths["cart-key.pem"],
    });
    expect(masterData.tls).toEqual({
      caFile: paths["ca.pem"],
      certFile: paths["cart.pem"],
      keyFile: paths["cart-key.pem"],
      reloadIntervalMs: 5000,
    });
    expect(readCartConfig(https).masterData.tls).toBeUndefined();
  });

  it("refuses files that cannot work, naming the variables", () => {
    expect(problemsOf({ MASTER_DATA_CA_FILE: paths["ca.pem"] })).toEqual([
      "MASTER_DATA_CA_FILE and MASTER_DATA_CLIENT_CERT_FILE are for TLS: MASTER_DATA_URL (or MASTER_DATA_FALLBACK_URL) must be https://",
    ]);
    expect(problemsOf({ ...https, MASTER_DATA_CLIENT_CERT_FILE: paths["cart.pem"] })).toEqual([
      "MASTER_DATA_CLIENT_CERT_FILE and MASTER_DATA_CLIENT_KEY_FILE must be set together",
    ]);
    const [mismatch] = problemsOf({
      ...https,
      MASTER_DATA_CLIENT_CERT_FILE: paths["cart.pem"],
      MASTER_DATA_CLIENT_KEY_FILE: paths["other-key.pem"],
    });
    expect(mismatch).toMatch(
      /^MASTER_DATA_CA_FILE\/MASTER_DATA_CLIENT_CERT_FILE\/MASTER_DATA_CLIENT_KEY_FILE: .*key values mismatch/,
    );
    const [missing] = problemsOf({ ...https, MASTER_DATA_CA_FILE: "/no/such/ca.pem" });
    expect(missing).toMatch(/\/no\/such\/ca\.pem/);
  });
});

describe("cart config", () => {
  it("starts on embedded defaults: port 8003, master-data over gRPC on 8002, carts and log in memory", () => {
    expect(readCartConfig({})).toMatchObject({
      host: "127.0.0.1",
      port: 8003,
      logLevel: "info",
      logRequests: false,
      readMaxBytes: 1024 * 1024,
      tls: undefined,
      cors: { allowedOrigins: [], maxAgeSeconds: 7200 },
      mongodbUri: undefined,
      mongodbTimeoutMs: 2000,
      masterData: {
        url: "http://127.0.0.1:8002",
        protocol: "grpc",
        httpVersion: "2",
        format: "binary",
        client: "fast",
        timeoutMs: 3000,
        retryAttempts: 3,
        breakerFailures: 5,
        breakerMinOpenMs: 250,
        breakerOpenMs: 1000,
        cacheTtlMs: 30_000,
        cacheMaxEntries: 10_000,
        batching: true,
      },
      redisUrl: undefined,
      redisTimeoutMs: 1000,
      redisKeyPrefix: "",
      redisAllowNoPersistence: false,
      production: false,
      cartTtlSeconds: 36_000,
      closedCartTtlSeconds: 900,
      maxOpenCartsPerTerminal: 50,
      memoryMaxCarts: 100_000,
      memoryMaxMb: 256,
      recordDrainIntervalMs: 1000,
    });
  });

  it("flips the transport to master-data by configuration alone", () => {
    const { masterData } = readCartConfig({
      MASTER_DATA_URL: "https://md.internal:9443/",
      MASTER_DATA_PROTOCOL: "grpc-web",
      MASTER_DATA_HTTP_VERSION: "1.1",
      MASTER_DATA_FORMAT: "json",
    });
    expect(masterData).toMatchObject({
      url: "https://md.internal:9443",
      protocol: "grpc-web",
      httpVersion: "1.1",
      format: "json",
    });
  });

  it("turns batching of concurrent lookups off with MASTER_DATA_BATCHING=false", () => {
    expect(readCartConfig({ MASTER_DATA_BATCHING: "false" }).masterData.batching).toBe(false);
    expect(problemsOf({ MASTER_DATA_BATCHING: "sometimes" })).toHaveLength(1);
  });

  it("names every bad variable in one error, including combinations that cannot work", () => {
    expect(
      problemsOf({
        CART_PORT: "-1",
        MASTER_DATA_URL: "ftp://md",
        MASTER_DATA_PROTOCOL: "grpc",
        MASTER_DATA_HTTP_VERSION: "1.1",
        MASTER_DATA_FORMAT: "xml",
        MASTER_DATA_RETRY_ATTEMPTS: "0",
        REDIS_URL: "http://x",
        CART_TTL_SECONDS: "forever",
      }),
    ).toEqual([
      'CART_PORT must be a whole number from 0 to 65535, got "-1"',
      'MASTER_DATA_URL must use http: or https:, got "ftp://md"',
      'MASTER_DATA_FORMAT must be one of binary | json, got "xml"',
      'MASTER_DATA_RETRY_ATTEMPTS must be a whole number from 1 to 10, got "0"',
      'CART_TTL_SECONDS must be a whole number from 1 to 2592000, got "forever"',
      'REDIS_URL must start with redis://, rediss://, redis-cluster:// or rediss-cluster://, got "http://x"',
      expect.stringMatching(/^master-data protocol grpc needs HTTP\/2/),
    ]);
  });
});
