// The public surface of @pos/cart.
export { createCartApp } from "./app.js";
export { type CartServiceDeps, createCartService } from "./cart-service.js";
export { type CartConfig, readCartConfig } from "./config.js";
export {
  createItemClient,
  type ItemClient,
  type ItemClientOptions,
  type ItemScope,
} from "./master-data/item-client.js";
// How cart reaches master-data (config → Transport), for the bench and for suites that check our
// client transports against other servers: createWireTransport is the protocol alone, no resilience.
// The bench reads cart's master-data histogram at both edges of a window (GET /stats/master-data).
export { type LatencySummary, windowQuantiles } from "./master-data/latency-histogram.js";
export {
  type ClientKind,
  checkTransportConfig,
  clientKinds,
  createMasterDataTransport,
  createWireTransport,
  everyTransportConfig,
  formats,
  type HttpVersion,
  httpVersions,
  type MasterDataProtocol,
  type MasterDataTransport,
  type MasterDataTransportConfig,
  type MasterDataTransportOptions,
  protocols,
  transportDimensions,
  type WireFormat,
} from "./master-data/transport.js";
export type { CartKey, CartStore } from "./store/cart-store.js";
export { createMemoryCartStore } from "./store/memory-cart-store.js";
export { createMemoryTransactionLog } from "./store/memory-transaction-log.js";
export { connectMongoTransactionLog, createMongoTransactionLog } from "./store/mongo-transaction-log.js";
export { connectRedisCartStore, createRedisCartStore } from "./store/redis-cart-store.js";
export type { TransactionLog, TransactionRecord } from "./store/transaction-log.js";
export { type CartDependencies, openCartDependencies } from "./wiring.js";
