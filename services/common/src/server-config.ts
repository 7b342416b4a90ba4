import { readFileSync } from "node:fs";
import { type AuthSettings, readAuthSettings } from "./auth/auth-config.js";
import { type ConnectionLimits, defaultConnectionLimits } from "./connection-limits.js";
import { type CorsSettings, readCorsSettings } from "./cors.js";
import type { EnvReader } from "./env-config.js";
import { type ClientAuth, clientAuthModes, type OnePortTls } from "./one-port-server.js";
import { defaultRateLimits, type RateLimitSettings } from "./rate-limit.js";
import { readPemFiles, secureContextOf } from "./tls-files.js";
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
  /** TLS_CERT_FILE/TLS_KEY_FILE (+ TLS_CLIENT_CA_FILE, TLS_CLIENT_AUTH, TLS_RELOAD_INTERVAL_MS); cleartext when undefined. */
  tls: ServerTls | undefined;
  cors: CorsSettings;
  /** Who may call (API keys, bearer tokens); see auth/. */
  auth: AuthSettings;
  /** MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, MAX_HEADER_BYTES, HTTP2_* (connection-limits.ts). */
  connectionLimits: ConnectionLimits;
  /** RATE_LIMITS, RATE_LIMIT_* (rate-limit.ts); undefined when RATE_LIMITS=false. */
  rateLimits: RateLimitSettings | undefined;
  /** SHUTDOWN_TIMEOUT_MS: the whole shutdown, calls in flight included (see run-service.ts). */
  shutdownTimeoutMs: number;
  telemetry: {
    /** GET /metrics and the RPC histograms (METRICS, on by default). */
    metrics: boolean;
    tracing: TracingSettings;
  };
}

/** The listener's TLS, read from files at start-up (a bad file stops the service, naming it). */
export interface ServerTls extends OnePortTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer | undefined;
  clientAuth: ClientAuth;
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
    auth: readAuthSettings(r, r.optionalString("MONGODB_URI")),
    connectionLimits: readConnectionLimits(r),
    rateLimits: readRateLimitSettings(r),
    shutdownTimeoutMs: r.int("SHUTDOWN_TIMEOUT_MS", 30_000, 1_000, 600_000),
    telemetry: { metrics: r.bool("METRICS", true), tracing: readTracingSettings(r) },
  };
  settings.tls = readServerTls(r);
  return settings;
}

/**
 * RATE_LIMITS (on by default) and the budgets per minute: the original design's 100 / 1,000 / 5,000
 * requests for anonymous / authenticated / privileged callers, failed authentications per address.
 * RATE_LIMIT_REDIS_URL shares the counts between replicas; unset, each process counts alone.
 */
function readRateLimitSettings(r: EnvReader): RateLimitSettings | undefined {
  const on = r.bool("RATE_LIMITS", true);
  const d = defaultRateLimits;
  const settings: RateLimitSettings = {
    tiers: {
      anonymous: r.int("RATE_LIMIT_ANONYMOUS_PER_MINUTE", d.tiers.anonymous, 1, 10_000_000),
      authenticated: r.int("RATE_LIMIT_AUTHENTICATED_PER_MINUTE", d.tiers.authenticated, 1, 10_000_000),
      privileged: r.int("RATE_LIMIT_PRIVILEGED_PER_MINUTE", d.tiers.privileged, 1, 10_000_000),
    },
    failedAuthAttempts: r.int("RATE_LIMIT_FAILED_AUTH_PER_MINUTE", d.failedAuthAttempts, 1, 10_000_000),
    windowSeconds: 60,
    redisUrl: r.optionalString("RATE_LIMIT_REDIS_URL"),
  };
  if (settings.redisUrl !== undefined && !/^rediss?:\/\//.test(settings.redisUrl)) {
    r.problem(`RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL (one Redis), got "${settings.redisUrl}"`);
  }
  return on ? settings : undefined;
}

/**
 * The listener's bounds (see README: limits). MAX_CONNECTIONS defaults to 4096, or fewer when the
 * process may open fewer files: past the file limit the kernel resets new connections and nothing
 * is logged, so the cap must bite first (128 descriptors left for stores, logs and the rest).
 */
function readConnectionLimits(r: EnvReader): ConnectionLimits {
  const fileLimit = openFileLimit();
  const fallback =
    fileLimit === undefined
      ? defaultConnectionLimits.maxConnections
      : Math.max(16, Math.min(defaultConnectionLimits.maxConnections, fileLimit - 128));
  return {
    maxConnections: r.int("MAX_CONNECTIONS", fallback, 1, 1_000_000),
    maxConnectionsPerAddress: r.int(
      "MAX_CONNECTIONS_PER_ADDRESS",
      defaultConnectionLimits.maxConnectionsPerAddress,
      0,
      1_000_000,
    ),
    maxHeaderBytes: r.int("MAX_HEADER_BYTES", defaultConnectionLimits.maxHeaderBytes, 1024, 1024 * 1024),
    http2MaxConcurrentStreams: r.int(
      "HTTP2_MAX_CONCURRENT_STREAMS",
      defaultConnectionLimits.http2MaxConcurrentStreams,
      1,
      4_294_967_295,
    ),
    http2MaxSessionMemoryMb: r.int(
      "HTTP2_MAX_SESSION_MEMORY_MB",
      defaultConnectionLimits.http2MaxSessionMemoryMb,
      1,
      100_000,
    ),
    http2StalledStreamMs: r.int("HTTP2_STALLED_STREAM_MS", defaultConnectionLimits.http2StalledStreamMs, 0, 3_600_000),
  };
}

/** The soft limit on open files (Linux: /proc/self/limits), or undefined where it cannot be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const m = text.match(/^Max open files\s+(\d+|unlimited)/m);
  if (m === null || m[1] === "unlimited") return undefined;
  return Number(m[1]);
}

/**
 * TLS_CERT_FILE + TLS_KEY_FILE turn TLS on; TLS_CLIENT_CA_FILE adds client certificates (mTLS,
 * TLS_CLIENT_AUTH `require` unless set to `request`); the files are re-read every
 * TLS_RELOAD_INTERVAL_MS (0: never). The files must make a usable context now: a key that does not
 * match its certificate is a start-up error, not a failed handshake later.
 */
function readServerTls(r: EnvReader): ServerTls | undefined {
  const certFile = r.optionalString("TLS_CERT_FILE");
  const keyFile = r.optionalString("TLS_KEY_FILE");
  const caFile = r.optionalString("TLS_CLIENT_CA_FILE");
  const authText = r.optionalString("TLS_CLIENT_AUTH");
  const reloadIntervalMs = r.int("TLS_RELOAD_INTERVAL_MS", 5000, 0, 86_400_000);
  const clientAuth = r.oneOf<ClientAuth>("TLS_CLIENT_AUTH", caFile === undefined ? "none" : "require", clientAuthModes);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    r.problem("TLS_CERT_FILE and TLS_KEY_FILE must be set together (or neither, for cleartext)");
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    if (caFile !== undefined || authText !== undefined) {
      r.problem("TLS_CLIENT_CA_FILE and TLS_CLIENT_AUTH need TLS: set TLS_CERT_FILE and TLS_KEY_FILE too");
    }
    return undefined;
  }
  if (clientAuth !== "none" && caFile === undefined) {
    r.problem(
      `TLS_CLIENT_AUTH=${clientAuth} needs TLS_CLIENT_CA_FILE: the CA bundle client certificates must chain to`,
    );
    return undefined;
  }
  if (clientAuth === "none" && caFile !== undefined) {
    r.problem(
      "TLS_CLIENT_CA_FILE is set but TLS_CLIENT_AUTH=none asks for no client certificate: use request or require",
    );
    return undefined;
  }
  const files = { cert: certFile, key: keyFile, ca: caFile };
  let material: ReturnType<typeof readPemFiles>;
  try {
    material = readPemFiles(files);
  } catch (e) {
    r.problem(`cannot read the TLS files: ${(e as Error).message}`);
    return undefined;
  }
  try {
    secureContextOf(material);
  } catch (e) {
    r.problem(
      `TLS_CERT_FILE/TLS_KEY_FILE${caFile === undefined ? "" : "/TLS_CLIENT_CA_FILE"} are not a usable certificate, key${caFile === undefined ? "" : " and CA bundle"}: ${(e as Error).message}`,
    );
    return undefined;
  }
  const { cert, key, ca } = material;
  if (cert === undefined || key === undefined) return undefined;
  return {
    cert,
    key,
    ca,
    clientAuth,
    reload: reloadIntervalMs === 0 ? undefined : { files, intervalMs: reloadIntervalMs },
  };
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
