import { type ConnectAppOptions, createConnectApp, type ServerSettings } from "@pos/common";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import type { FastifyInstance } from "fastify";
import { type CartServiceDeps, createCartService } from "./cart-service.js";

/** The cart HTTP app: CartService on one port, over every protocol. */
export async function createCartApp(
  deps: CartServiceDeps,
  settings: Pick<ServerSettings, "logLevel" | "logRequests" | "readMaxBytes" | "tls"> &
    Partial<Pick<ServerSettings, "cors" | "unaryFastPath" | "connectionLimits" | "rateLimits">> &
    Pick<ConnectAppOptions, "auth" | "health" | "metrics" | "tracing" | "closeGraceMs">,
): Promise<FastifyInstance> {
  const app = await createConnectApp({
    serviceName: "cart",
    routes: (router) => router.service(CartService, createCartService(deps)),
    // Every call answers the whole cart; gzip of a long cart cost more CPU than the rest of the call
    // (profiled: bench/README.md). Terminals sit on the shop's LAN: compress only what is really large.
    compressMinBytes: 256 * 1024,
    ...settings,
  });
  // What cart sees of master-data (calls, retries, cache, breaker, latency): for operators and the bench.
  app.get("/stats/master-data", async () => deps.items.stats());
  return app;
}
