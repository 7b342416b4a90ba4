import { ConfigError } from "@pos/common";
import { describe, expect, it } from "vitest";
import { readMasterDataConfig } from "./config.js";

describe("master-data config", () => {
  it("starts on embedded defaults: loopback port 8002, in-memory store, demo catalogue", () => {
    expect(readMasterDataConfig({})).toMatchObject({
      host: "127.0.0.1",
      port: 8002,
      logLevel: "info",
      logRequests: false,
      readMaxBytes: 1024 * 1024,
      tls: undefined,
      cors: { allowedOrigins: [], maxAgeSeconds: 7200 },
      mongodbUri: undefined,
      mongodbTimeoutMs: 2000,
      demoCatalogue: true,
    });
  });

  it("reads what the README documents", () => {
    expect(
      readMasterDataConfig({
        HOST: "0.0.0.0",
        MASTER_DATA_PORT: "0",
        LOG_LEVEL: "warn",
        MONGODB_URI: "mongodb://127.0.0.1:27018/pos",
        MONGODB_TIMEOUT_MS: "500",
        DEMO_CATALOGUE: "false",
      }),
    ).toMatchObject({
      host: "0.0.0.0",
      port: 0,
      logLevel: "warn",
      mongodbUri: "mongodb://127.0.0.1:27018/pos",
      mongodbTimeoutMs: 500,
      demoCatalogue: false,
    });
  });

  it("names every bad variable in one error", () => {
    let error: unknown;
    try {
      readMasterDataConfig({ MASTER_DATA_PORT: "http", DEMO_CATALOGUE: "2", MONGODB_URI: "localhost:27017" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'MASTER_DATA_PORT must be a whole number from 0 to 65535, got "http"',
      'MONGODB_URI must start with mongodb:// or mongodb+srv://, got "localhost:27017"',
      'DEMO_CATALOGUE must be true or false, got "2"',
    ]);
  });
});
