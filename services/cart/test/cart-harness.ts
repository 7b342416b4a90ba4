import type { AddressInfo } from "node:net";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { redisUrlOfTests, type ServiceProcess, spawnService, testAudience, testAuth } from "@pos/common/testing";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import type { FastifyInstance } from "fastify";
import { createCartApp } from "../src/app.js";
import type { CartServiceDeps } from "../src/cart-service.js";
import type { CartConfig } from "../src/config.js";
import type { MasterDataTransportConfig } from "../src/master-data/transport.js";
import { type CartDependencies, openCartDependencies } from "../src/wiring.js";

/** The real master-data process on the given port (0 = a free port), demo catalogue, in-memory store. */
export async function startMasterDataProcess(port = 0): Promise<{ proc: ServiceProcess; port: number; url: string }> {
  const proc = spawnService(masterDataMain, { MASTER_DATA_PORT: String(port), LOG_LEVEL: "info" });
  const actual = await proc.port(30_000);
  return { proc, port: actual, url: `http://127.0.0.1:${actual}` };
}

export const redisUrl = redisUrlOfTests();

type StoreSetting =
  | "redisKeyPrefix"
  | "cartTtlSeconds"
  | "closedCartTtlSeconds"
  | "maxOpenCartsPerTerminal"
  | "memoryMaxCarts"
  | "memoryMaxMb"
  | "recordDrainIntervalMs";

export interface RunningCart {
  app: FastifyInstance;
  deps: CartDependencies;
  client: Client<typeof CartService>;
  baseUrl: string;
  close(): Promise<void>;
}

/** The cart service in this process on a real socket, talking to master-data over the given transport. */
export async function startCart(
  masterData: MasterDataTransportConfig,
  overrides: Partial<Omit<CartConfig["masterData"], keyof MasterDataTransportConfig>> & {
    redisUrl?: string | undefined;
    mongodbUri?: string | undefined;
    /** Other stores' settings (bounds, key prefix); defaults as in production. */
    stores?: Partial<Pick<CartConfig, StoreSetting>>;
    /** What the service gets instead of the opened dependencies (e.g. stores that fail on cue). */
    wrap?: (deps: CartDependencies) => Partial<CartServiceDeps>;
  } = {},
): Promise<RunningCart> {
  const { redisUrl: redis, mongodbUri, stores, wrap, ...md } = overrides;
  const deps = await openCartDependencies({
    masterData: {
      ...masterData,
      timeoutMs: 2000,
      retryAttempts: 3,
      breakerFailures: 5,
      breakerMinOpenMs: 250,
      breakerOpenMs: 500,
      cacheTtlMs: 30_000,
      cacheMaxEntries: 10_000,
      batching: true,
      ...md,
    },
    redisUrl: "redisUrl" in overrides ? redis : redisUrl,
    redisTimeoutMs: 1000,
    redisKeyPrefix: "",
    redisAllowNoPersistence: true,
    production: false,
    cartTtlSeconds: 36_000,
    closedCartTtlSeconds: 900,
    // The suites leave open carts on terminal R01 of a Redis that every run shares (for hours): no cap
    // unless a test sets one.
    maxOpenCartsPerTerminal: 10_000,
    memoryMaxCarts: 100_000,
    memoryMaxMb: 256,
    recordDrainIntervalMs: 1000,
    ...stores,
    mongodbUri: "mongodbUri" in overrides ? mongodbUri : process.env.MONGODB_URI,
    mongodbTimeoutMs: 2000,
    // cart's service token, which master-data (in-process or spawned) trusts through testAuth.
    masterDataCredential: { keyFile: testAuth.serviceKeyFile, audience: testAudience },
  });
  const app = await createCartApp(wrap === undefined ? deps : { ...deps, ...wrap(deps) }, {
    logLevel: "silent",
    logRequests: false,
    readMaxBytes: 1 << 20,
    tls: undefined,
    auth: await testAuth.open(),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    deps,
    baseUrl,
    client: createClient(CartService, createGrpcTransport({ baseUrl, interceptors: [testAuth.clientInterceptor] })),
    async close() {
      await app.close();
      await deps.close();
    },
  };
}

/** The five ways cart can call master-data. */
export const masterDataTransports: { name: string; config: (url: string) => MasterDataTransportConfig }[] = [
  {
    name: "connect json http/1.1",
    config: (url) => ({ url, protocol: "connect", httpVersion: "1.1", format: "json" }),
  },
  {
    name: "connect binary http/1.1",
    config: (url) => ({ url, protocol: "connect", httpVersion: "1.1", format: "binary" }),
  },
  {
    name: "connect binary http/2",
    config: (url) => ({ url, protocol: "connect", httpVersion: "2", format: "binary" }),
  },
  { name: "grpc http/2", config: (url) => ({ url, protocol: "grpc", httpVersion: "2", format: "binary" }) },
  {
    name: "grpc-web binary http/1.1",
    config: (url) => ({ url, protocol: "grpc-web", httpVersion: "1.1", format: "binary" }),
  },
];
