import type { AddressInfo } from "node:net";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { ConnectAppOptions, CorsSettings, Health, OnePortTls, RateLimitSettings, ServerAuth } from "@pos/common";
import { testAuth } from "@pos/common/testing";
import type { FastifyInstance } from "fastify";
import { createMasterDataApp } from "../app.js";
import { seedDemoCatalogue } from "../open-store.js";
import type { ItemStore } from "../store/item-store.js";
import { createMemoryItemStore } from "../store/memory-item-store.js";

export interface RunningMasterData {
  app: FastifyInstance;
  store: ItemStore;
  baseUrl: string;
  port: number;
  /** Every request the server saw: protocol evidence for the matrix. */
  seen: { httpVersion: string; method: string; contentType: string; url: string }[];
  close(): Promise<void>;
}

/** master-data on 127.0.0.1:<random port>, the demo catalogue in an in-memory store (unless a store is given). */
export async function startMasterData(
  options: {
    store?: ItemStore;
    readMaxBytes?: number;
    cors?: CorsSettings;
    health?: Health;
    unaryFastPath?: boolean;
    /** Who may call; default: this test file's credentials (testAuth), which transportMatrix sends. */
    auth?: ServerAuth;
    /** Serve TLS (and mTLS); baseUrl is then https://. */
    tls?: OnePortTls;
    /** Rate limits (none by default: a suite's calls all come from one address). */
    rateLimits?: RateLimitSettings;
    /** Whom a call counts against (default: the services' own rule, callerOf). */
    rateLimitCaller?: ConnectAppOptions["rateLimitCaller"];
  } = {},
): Promise<RunningMasterData> {
  const store = options.store ?? createMemoryItemStore();
  if (options.store === undefined) await seedDemoCatalogue(store);
  const seen: RunningMasterData["seen"] = [];
  const app = await createMasterDataApp(store, {
    logLevel: "silent",
    logRequests: false,
    readMaxBytes: options.readMaxBytes ?? 1024 * 1024,
    unaryFastPath: options.unaryFastPath ?? true,
    tls: options.tls,
    rateLimits: options.rateLimits,
    rateLimitCaller: options.rateLimitCaller,
    health: options.health,
    auth: options.auth ?? (await testAuth.open()),
    cors: options.cors,
    // Seen before the fast path or fastify takes the request, so both paths are proven alike.
    observeRequest: (req) =>
      seen.push({
        httpVersion: req.httpVersion,
        method: req.method ?? "",
        contentType: String(req.headers["content-type"] ?? ""),
        url: req.url ?? "",
      }),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    store,
    seen,
    port,
    baseUrl: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export interface NamedTransport {
  name: string;
  transport: Transport;
  /** What the server must see for this transport. */
  expect: { httpVersion: string; contentType: RegExp; method?: string };
}

/**
 * The five client transports of the protocol matrix, plus Connect GET; each sends this test file's
 * admin token for the tenant its request names (testAuth), unless told which interceptors to use.
 */
export function transportMatrix(baseUrl: string, options: { interceptors?: Interceptor[] } = {}): NamedTransport[] {
  const interceptors = options.interceptors ?? [testAuth.clientInterceptor];
  return [
    {
      name: "Connect JSON / HTTP/1.1",
      transport: createConnectTransport({ baseUrl, interceptors, httpVersion: "1.1", useBinaryFormat: false }),
      expect: { httpVersion: "1.1", contentType: /^application\/json/ },
    },
    {
      name: "Connect binary / HTTP/1.1",
      transport: createConnectTransport({ baseUrl, interceptors, httpVersion: "1.1", useBinaryFormat: true }),
      expect: { httpVersion: "1.1", contentType: /^application\/proto/ },
    },
    {
      name: "Connect binary / HTTP/2",
      transport: createConnectTransport({ baseUrl, interceptors, httpVersion: "2", useBinaryFormat: true }),
      expect: { httpVersion: "2.0", contentType: /^application\/proto/ },
    },
    {
      name: "gRPC / HTTP/2",
      transport: createGrpcTransport({ baseUrl, interceptors }),
      expect: { httpVersion: "2.0", contentType: /^application\/grpc(\+proto)?$/ },
    },
    {
      name: "gRPC-Web binary / HTTP/1.1",
      transport: createGrpcWebTransport({ baseUrl, interceptors, httpVersion: "1.1", useBinaryFormat: true }),
      expect: { httpVersion: "1.1", contentType: /^application\/grpc-web\+proto/ },
    },
    {
      name: "Connect JSON GET / HTTP/1.1",
      transport: createConnectTransport({
        baseUrl,
        interceptors,
        httpVersion: "1.1",
        useBinaryFormat: false,
        useHttpGet: true,
      }),
      expect: { httpVersion: "1.1", contentType: /^(application\/json)?$/, method: "GET" },
    },
  ];
}
