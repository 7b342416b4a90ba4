import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { createDeadlineResetInterceptor } from "./deadline-reset.js";
import { createFailover, type FailoverOptions, type FailoverStats } from "./failover.js";
import { createFastTransport, timeoutHeaderOf } from "./fast-transport.js";
import {
  createAgent,
  createHttp2Sender,
  createUndiciHttp1Sender,
  http2SessionOptions,
  type TlsContextSource,
} from "./http-senders.js";
import { createResilience, type ResilienceOptions, type ResilienceStats } from "./resilience.js";

export const protocols = ["connect", "grpc", "grpc-web"] as const;
export const httpVersions = ["1.1", "2"] as const;
export const formats = ["binary", "json"] as const;
/** Whose client code sends the bytes: our lean unary transport, or connect-node's transports. */
export const clientKinds = ["fast", "connect-node"] as const;

export type MasterDataProtocol = (typeof protocols)[number];
export type HttpVersion = (typeof httpVersions)[number];
export type WireFormat = (typeof formats)[number];
export type ClientKind = (typeof clientKinds)[number];

export interface MasterDataTransportConfig {
  /** Base URL of master-data, e.g. http://127.0.0.1:8002 */
  url: string;
  protocol: MasterDataProtocol;
  httpVersion: HttpVersion;
  format: WireFormat;
  /** Default "fast" (measured: bench/README.md, "cart → master-data client"). */
  client?: ClientKind;
  /** Where calls go while this one cannot connect or fails at the protocol level (see failover.ts). */
  fallback?: Omit<MasterDataTransportConfig, "fallback"> | undefined;
}

/** Connection tuning; the defaults suit one cart process talking to one master-data. */
export interface ConnectionOptions {
  /** HTTP/1.1: most sockets open to master-data at once; more calls wait for a free one. */
  maxSockets?: number;
  /** HTTP/2: PING a session this often while it has streams, to find a dead peer before a call does. */
  pingIntervalMs?: number;
  /** HTTP/2: a PING unanswered this long kills the session (a new one is opened on the next call). */
  pingTimeoutMs?: number;
  /** HTTP/2: close the session after this long without a call. */
  idleConnectionTimeoutMs?: number;
  /** Largest response message accepted; larger → resource_exhausted. */
  readMaxBytes?: number;
}

export interface MasterDataTransportOptions extends ResilienceOptions {
  connection?: ConnectionOptions;
  /** Innermost, around each attempt on the wire (after retry and deadline): metrics, tracing. */
  interceptors?: Interceptor[];
  /** Adds cart's credential to every attempt (a service token per tenant: @pos/common's tokens.ts). */
  credential?: Interceptor | undefined;
  /** With a fallback configured: when to try the primary again, and who hears of a switch. */
  failover?: Pick<FailoverOptions, "retryPrimaryAfterMs" | "onSwitch" | "now">;
  /** https:// master-data: the CA to verify it and cart's client certificate (client-tls.ts); Node's roots when absent. */
  tls?: TlsContextSource | undefined;
}

export type MasterDataTransportStats = ResilienceStats & {
  /** Present when a fallback is configured: the route in use and the switches so far. */
  failover?: FailoverStats;
};

export interface MasterDataTransport {
  /** With the resilience interceptors (error mapping, retry, breaker, deadline, latency) composed on it. */
  transport: Transport;
  stats(): MasterDataTransportStats;
  /** One line for the start-up log, e.g. "grpc over HTTP/2 (binary) to http://127.0.0.1:8002". */
  describe: string;
  /** Closes the connections; the transport must not be used afterwards. */
  close(): void;
}

const connectionDefaults = {
  maxSockets: 64,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 10_000,
  idleConnectionTimeoutMs: 5 * 60_000,
  readMaxBytes: 16 * 1024 * 1024,
} satisfies Required<ConnectionOptions>;

/**
 * Every problem with a transport config, as one sentence each (empty when fine), so the config
 * module can report them all at start-up instead of one per restart.
 */
export function checkTransportConfig(config: MasterDataTransportConfig): string[] {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(config.url);
  } catch {
    problems.push(`master-data url must be an absolute http:// or https:// URL, got "${config.url}"`);
  }
  if (url !== undefined && url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push(`master-data url must use http:// or https://, got "${config.url}"`);
  }
  if (!includes(protocols, config.protocol)) {
    problems.push(`master-data protocol must be one of ${protocols.join(", ")}, got "${config.protocol}"`);
  }
  if (!includes(httpVersions, config.httpVersion)) {
    problems.push(`master-data HTTP version must be one of ${httpVersions.join(", ")}, got "${config.httpVersion}"`);
  }
  if (!includes(formats, config.format)) {
    problems.push(`master-data format must be one of ${formats.join(", ")}, got "${config.format}"`);
  }
  if (config.client !== undefined && !includes(clientKinds, config.client)) {
    problems.push(`master-data client must be one of ${clientKinds.join(", ")}, got "${config.client}"`);
  }
  if (config.protocol === "grpc" && config.httpVersion === "1.1") {
    problems.push(
      "master-data protocol grpc needs HTTP/2 (gRPC uses HTTP/2 trailers): set the HTTP version to 2, or use connect or grpc-web over HTTP/1.1",
    );
  }
  if (config.fallback !== undefined) {
    problems.push(...checkTransportConfig(config.fallback).map((p) => `fallback: ${p}`));
    const { url, protocol, httpVersion, format } = config.fallback;
    if (
      url === config.url &&
      protocol === config.protocol &&
      httpVersion === config.httpVersion &&
      format === config.format
    ) {
      problems.push("master-data fallback is the same transport as the primary: name another protocol or HTTP version");
    }
  }
  return problems;
}

/**
 * The ONE place in cart that knows protocols: config → Transport, with the resilience
 * interceptors composed on it (error mapping → retry → breaker → deadline → latency).
 * Connections are made once, here, and shared by every call: one HTTP/2 session, or one
 * keep-alive pool (agent, for connect-node) for HTTP/1.1.
 */
export function createMasterDataTransport(
  config: MasterDataTransportConfig,
  options: MasterDataTransportOptions = {},
): MasterDataTransport {
  const {
    connection,
    failover: failoverOptions,
    interceptors: observers = [],
    tls,
    credential,
    ...resilienceOptions
  } = options;
  // Each attempt carries the credential, on whichever route it goes out.
  const interceptors = credential === undefined ? observers : [credential, ...observers];
  const primaryTimeoutHeader = timeoutHeaderOf(config.protocol);
  const resilience = createResilience(primaryTimeoutHeader, resilienceOptions);
  if (config.fallback === undefined) {
    const wire = createWireTransport(config, {
      connection,
      tls,
      interceptors: [...resilience.interceptors, ...interceptors],
    });
    return { ...wire, stats: resilience.stats };
  }
  // The fallback is a bare wire under the same resilience chain: one retry budget, one breaker, and a
  // call counts as failed only when the fallback failed too.
  const fallback = createWireTransport(config.fallback, { connection, tls });
  const failover = createFailover({
    ...failoverOptions,
    fallback: fallback.transport,
    primaryTimeoutHeader: { name: primaryTimeoutHeader.name, parse: parseTimeoutMs },
  });
  const { fallback: _, ...primaryConfig } = config;
  const primary = createWireTransport(primaryConfig, {
    connection,
    tls,
    // Ours before the failover: an attempt is observed whichever route answers it.
    interceptors: [...resilience.interceptors, ...interceptors, failover.interceptor],
  });
  return {
    transport: primary.transport,
    describe: `${primary.describe}, falling back to ${fallback.describe}`,
    stats: () => ({ ...resilience.stats(), failover: failover.stats() }),
    close() {
      primary.close();
      fallback.close();
    },
  };
}

// What the deadline interceptor wrote: milliseconds, bare (Connect) or with the "m" unit (gRPC).
function parseTimeoutMs(value: string): number | undefined {
  const m = /^(\d{1,8})m?$/.exec(value);
  return m === null ? undefined : Number(m[1]);
}

/**
 * The protocol alone: config → Transport with only the given interceptors (no resilience, no
 * error mapping), for tests and interop suites that check what the wire says.
 */
export function createWireTransport(
  config: MasterDataTransportConfig,
  options: { connection?: ConnectionOptions; interceptors?: Interceptor[]; tls?: TlsContextSource | undefined } = {},
): { transport: Transport; describe: string; close(): void } {
  const problems = checkTransportConfig(config);
  if (problems.length > 0) {
    throw new Error(`invalid master-data transport config: ${problems.join("; ")}`);
  }
  const tuning = { ...connectionDefaults, ...options.connection };
  // Innermost, next to the wire: a server's reset at the deadline is the deadline (deadline-reset.ts).
  const interceptors = [...(options.interceptors ?? []), createDeadlineResetInterceptor()];
  const baseUrl = config.url.replace(/\/+$/, "");
  const useBinaryFormat = config.format === "binary";
  const client = config.client ?? "fast";
  const describe = `${config.protocol} over HTTP/${config.httpVersion} (${config.format}, ${client} client) to ${baseUrl}`;
  // TLS only for https:// (a fallback may be cleartext while the primary is not).
  const tls = baseUrl.startsWith("https:") ? options.tls : undefined;
  const connectNode = createConnectNodeTransport(config, baseUrl, useBinaryFormat, tuning, interceptors, tls);
  if (client === "connect-node") return { transport: connectNode.transport, describe, close: connectNode.close };
  const url = new URL(baseUrl);
  const sender =
    config.httpVersion === "2"
      ? createHttp2Sender(url, tuning, tuning.readMaxBytes, tls)
      : createUndiciHttp1Sender(url, tuning.maxSockets, tuning.readMaxBytes, tls);
  const transport = createFastTransport({
    protocol: config.protocol,
    useBinaryFormat,
    sender,
    interceptors,
    // Only streaming calls (none today) would open connect-node's connection.
    streaming: connectNode.transport,
  });
  return {
    transport,
    describe,
    close() {
      sender.close();
      connectNode.close();
    },
  };
}

function createConnectNodeTransport(
  config: MasterDataTransportConfig,
  baseUrl: string,
  useBinaryFormat: boolean,
  tuning: Required<ConnectionOptions>,
  interceptors: Interceptor[],
  tls: TlsContextSource | undefined,
): { transport: Transport; close(): void } {
  if (config.httpVersion === "2") {
    // Ours, not the transport's implicit one, so that close() can end it; it passes the session
    // options to http2.connect on every (re)connect, so the secure context is the current one.
    const sessionManager = new Http2SessionManager(
      baseUrl,
      {
        pingIntervalMs: tuning.pingIntervalMs,
        pingTimeoutMs: tuning.pingTimeoutMs,
        idleConnectionTimeoutMs: tuning.idleConnectionTimeoutMs,
      },
      http2SessionOptions(tls),
    );
    const options = {
      baseUrl,
      httpVersion: "2" as const,
      useBinaryFormat,
      sessionManager,
      interceptors,
      readMaxBytes: tuning.readMaxBytes,
    };
    const transport =
      config.protocol === "grpc"
        ? createGrpcTransport(options)
        : config.protocol === "grpc-web"
          ? createGrpcWebTransport(options)
          : createConnectTransport(options);
    return { transport, close: () => sessionManager.abort() };
  }
  const agent = createAgent(new URL(baseUrl), { keepAlive: true, maxSockets: tuning.maxSockets }, tls);
  const options = {
    baseUrl,
    httpVersion: "1.1" as const,
    useBinaryFormat,
    nodeOptions: { agent },
    interceptors,
    readMaxBytes: tuning.readMaxBytes,
  };
  // checkTransportConfig has ruled out grpc over HTTP/1.1.
  const transport = config.protocol === "grpc-web" ? createGrpcWebTransport(options) : createConnectTransport(options);
  return { transport, close: () => agent.destroy() };
}

function includes<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/**
 * Every dimension of a transport config with its values. everyTransportConfig walks all of them,
 * so a dimension or value added here is covered by the interop suites (interop/test) at once.
 */
export const transportDimensions = {
  protocol: protocols,
  httpVersion: httpVersions,
  format: formats,
  client: clientKinds,
} as const;

/** Every config this module can build for `url`: the product of the dimensions, invalid ones left out. */
export function everyTransportConfig(url: string): MasterDataTransportConfig[] {
  let partial: Record<string, string>[] = [{}];
  for (const [dimension, values] of Object.entries(transportDimensions)) {
    partial = partial.flatMap((config) => values.map((value: string) => ({ ...config, [dimension]: value })));
  }
  return partial
    .map((config) => ({ url, ...config }) as MasterDataTransportConfig)
    .filter((config) => checkTransportConfig(config).length === 0);
}
