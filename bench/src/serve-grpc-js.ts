import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  BatchGetItemDetailsResponseSchema,
  GetItemDetailResponseSchema,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { GrpcStatusError, grpcServiceDefinition, unaryHandler } from "./grpc-definition.js";
import { announce, lookUp, openPeerStore, peerPort } from "./peer-store.js";

// Peer: what a Node team would write for gRPC: a plain @grpc/grpc-js server over the same
// repository and demo data. No interceptors, validation beyond "is it there", or logging.
const store = await openPeerStore();
const server = new grpc.Server();
server.addService(grpcServiceDefinition(ItemService), {
  getItemDetail: unaryHandler(ItemService.method.getItemDetail, async (req) => {
    const [item] = await store.getItems(req.tenantId, req.storeCode, [req.itemCode]);
    if (item === undefined) throw new GrpcStatusError(grpc.status.NOT_FOUND, `item "${req.itemCode}" not found`);
    return create(GetItemDetailResponseSchema, { item });
  }),
  batchGetItemDetails: unaryHandler(ItemService.method.batchGetItemDetails, async (req) => {
    const { items, notFound } = await lookUp(store, req.tenantId, req.storeCode, req.itemCodes);
    return create(BatchGetItemDetailsResponseSchema, { items, notFoundItemCodes: notFound });
  }),
});
server.bindAsync(`127.0.0.1:${peerPort(process.env)}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) {
    console.error(`grpc-js peer: cannot listen: ${err.message}`);
    process.exit(1);
  }
  announce("grpc-js", port);
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
