import { type ConnectAppOptions, createConnectApp, type OnePortTls, type ServerSettings } from "@pos/common";
import { ItemService as LegacyItemService } from "@pos/gen/legacy/item_service/item_service_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { FastifyInstance } from "fastify";
import type { MasterDataConfig } from "./config.js";
import { createItemService } from "./item-service.js";
import { createLegacyItemService } from "./legacy-item-service.js";
import type { ItemStore } from "./store/item-store.js";

/** The master-data HTTP app: ItemService on one port, over every protocol. */
export function createMasterDataApp(
  store: ItemStore,
  config: Pick<MasterDataConfig, "logLevel" | "logRequests" | "readMaxBytes"> & {
    tls?: OnePortTls | undefined;
  } & Partial<Pick<ServerSettings, "cors" | "connectionLimits" | "rateLimits">> &
    Pick<
      ConnectAppOptions,
      | "auth"
      | "health"
      | "metrics"
      | "tracing"
      | "unaryFastPath"
      | "observeRequest"
      | "closeGraceMs"
      | "rateLimitCaller"
    >,
): Promise<FastifyInstance> {
  return createConnectApp({
    serviceName: "master-data",
    routes: (router) => {
      router.service(ItemService, createItemService(store));
      // The original system's contract on the same port, so its cart can switch unchanged (see README).
      router.service(LegacyItemService, createLegacyItemService(store));
    },
    ...config,
  });
}
