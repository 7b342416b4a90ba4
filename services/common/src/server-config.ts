import { readFileSync } from "node:fs";
import { type CorsSettings, readCorsSettings } from "./cors.js";
import type { EnvReader } from "./env-config.js";
import type { TracingSettings } from "./tracing.js";

/** What every service's HTTP side is configured with (see README: environment variables). */
export interface ServerSettings {
  host: string;
  port: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  logRequests: boolean;
  readMaxBytes: number;
  /** UNARY_FAST_PATH=false sends every call through connect-fastify (see unary-fast-path.ts). */
  unaryFastPath: boolean;
  tls: { cert: Buffer; key: Buffer } | undefined;
  cors: CorsSettings;
  /** SHUTDOWN_TIMEOUT_MS: the whole shutdown, calls in flight included (see run-service.ts). */
  shutdownTimeoutMs: number;
  telemetry: {
    /** GET /metrics and the RPC histograms (METRICS, on by default). */
    metrics: boolean;
    tracing: TracingSettings;
  };
}

export function readServerSettings(r: EnvReader, portVariable: string, defaultPort: number): ServerSettings {
  const settings: ServerSettings = {
    host: r.string("HOST", "127.0.0.1"),
    port: r.int(portVariable, defaultPort, 0, 65535),
    logLevel: r.oneOf("LOG_LEVEL", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    logRequests: r.bool("LOG_REQUESTS", false),
    readMaxBytes: r.int("READ_MAX_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    unaryFastPath: r.bool("UNARY_FAST_PATH", true),
    tls: undefined,
    cors: readCorsSettings(r),
    shutdownTimeoutMs: r.int("SHUTDOWN_TIMEOUT_MS", 30_000, 1_000, 600_000),
    telemetry: { metrics: r.bool("METRICS", true), tracing: readTracingSettings(r) },
  };
  const certFile = r.optionalString("TLS_CERT_FILE");
  const keyFile = r.optionalString("TLS_KEY_FILE");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    r.problem("TLS_CERT_FILE and TLS_KEY_FILE must be set together (or neither, for cleartext)");
  } else if (certFile !== undefined && keyFile !== undefined) {
    try {
      settings.tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
    } catch (e) {
      r.problem(`cannot read TLS_CERT_FILE/TLS_KEY_FILE: ${(e as Error).message}`);
    }
  }
  return settings;
}

/** MONGODB_URI (unset = embedded in-memory) and the bound on every MongoDB operation. */
export function readMongoSettings(r: EnvReader): { mongodbUri: string | undefined; mongodbTimeoutMs: number } {
  const mongodbUri = r.optionalString("MONGODB_URI");
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    r.problem(`MONGODB_URI must start with mongodb:// or mongodb+srv://, got "${mongodbUri}"`);
  }
  return { mongodbUri, mongodbTimeoutMs: r.int("MONGODB_TIMEOUT_MS", 2000, 50, 60_000) };
}

/** OpenTelemetry's own variable names: tracing is on once an OTLP endpoint is set. */
function readTracingSettings(r: EnvReader): TracingSettings {
  const otlpEndpoint = r.optionalString("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (otlpEndpoint !== undefined && !/^https?:\/\//.test(otlpEndpoint)) {
    r.problem(`OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, got "${otlpEndpoint}"`);
  }
  const ratioText = r.optionalString("OTEL_TRACES_SAMPLER_ARG");
  const sampleRatio = ratioText === undefined ? 1 : Number(ratioText);
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
    r.problem(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${ratioText}"`);
  }
  return { otlpEndpoint, sampleRatio };
}
