import { readFileSync } from "node:fs";
import { createEnvReader, type Env } from "@pos/common/env-config.js";

export interface MasterDataConfig {
  host: string;
  port: number;
  /** Unset: the embedded in-memory store. */
  mongodbUri: string | undefined;
  /** Bound for every MongoDB operation, incl. connecting. */
  mongodbTimeoutMs: number;
  demoCatalogue: boolean;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  logRequests: boolean;
  readMaxBytes: number;
  tls: { cert: Buffer; key: Buffer } | undefined;
}

export function readMasterDataConfig(env: Env): MasterDataConfig {
  const r = createEnvReader(env);
  const config: MasterDataConfig = {
    host: r.string("HOST", "127.0.0.1"),
    port: r.int("MASTER_DATA_PORT", 8002, 0, 65535),
    mongodbUri: r.optionalString("MONGODB_URI"),
    mongodbTimeoutMs: r.int("MONGODB_TIMEOUT_MS", 2000, 50, 60_000),
    demoCatalogue: r.bool("DEMO_CATALOGUE", true),
    logLevel: r.oneOf("LOG_LEVEL", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    logRequests: r.bool("LOG_REQUESTS", false),
    readMaxBytes: r.int("READ_MAX_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    tls: undefined,
  };
  if (config.mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(config.mongodbUri)) {
    r.problem(`MONGODB_URI must start with mongodb:// or mongodb+srv://, got "${config.mongodbUri}"`);
  }
  const certFile = r.optionalString("TLS_CERT_FILE");
  const keyFile = r.optionalString("TLS_KEY_FILE");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    r.problem("TLS_CERT_FILE and TLS_KEY_FILE must be set together (or neither, for cleartext)");
  } else if (certFile !== undefined && keyFile !== undefined) {
    try {
      config.tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
    } catch (e) {
      r.problem(`cannot read TLS_CERT_FILE/TLS_KEY_FILE: ${(e as Error).message}`);
    }
  }
  r.done();
  return config;
}
