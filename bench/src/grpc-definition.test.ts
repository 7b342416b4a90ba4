import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import {
  file_pos_masterdata_v1_item_service,
  GetItemDetailResponseSchema,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import { descriptorSet } from "./descriptor-set.js";
import { grpcServiceDefinition } from "./grpc-definition.js";
import { getItemRequest } from "./requests.js";

describe("grpc-js definition from the protobuf-es descriptors", () => {
  const def = grpcServiceDefinition(ItemService);

  it("has every RPC at its gRPC path, all unary", () => {
    expect(Object.keys(def).sort()).toEqual(ItemService.methods.map((m) => m.localName).sort());
    expect(def.getItemDetail?.path).toBe("/pos.masterdata.v1.ItemService/GetItemDetail");
    expect(def.batchGetItemDetails?.requestStream).toBe(false);
    expect(def.batchGetItemDetails?.responseStream).toBe(false);
  });

  it("serializes and deserializes requests and responses through protobuf-es", () => {
    const m = def.getItemDetail!;
    const req = getItemRequest("ITEM0007");
    expect(m.requestDeserialize(m.requestSerialize(req))).toEqual(req);
    const res = create(GetItemDetailResponseSchema, {
      item: create(ItemSchema, { itemCode: "ITEM0007", description: "x" }),
    });
    expect(m.responseDeserialize(m.responseSerialize(res))).toEqual(res);
  });
});

describe("protoset for ghz", () => {
  it("holds the service and everything it imports, dependencies first", () => {
    const set = fromBinary(FileDescriptorSetSchema, descriptorSet(file_pos_masterdata_v1_item_service));
    const names = set.file.map((f) => f.name);
    expect(names.at(-1)).toBe("pos/masterdata/v1/item_service.proto");
    expect(names).toContain("google/protobuf/timestamp.proto");
    expect(names.indexOf("pos/common/v1/money.proto")).toBeLessThan(names.indexOf("pos/masterdata/v1/item.proto"));
    // A registry can be rebuilt from it alone: nothing is missing.
    const registry = createFileRegistry(set);
    expect(registry.getService("pos.masterdata.v1.ItemService")?.methods.map((m) => m.name)).toContain("GetItemDetail");
  });
});
