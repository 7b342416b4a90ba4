import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { TaxSchema, TaxType } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { describe, expect, it } from "vitest";
import { toLegacyItemDetail } from "./legacy-item-service.js";

const item = (amount: bigint) =>
  create(ItemSchema, {
    itemCode: "A1",
    description: "Green tea",
    price: { amount, currencyCode: "JPY" },
    createdAt: timestampFromMs(Date.UTC(2026, 10, 23, 14, 7, 11, 123)),
  });
const tax = (type: TaxType, rateBasisPoints: number) => create(TaxSchema, { taxCode: "X", type, rateBasisPoints });

describe("toLegacyItemDetail: the lossy spots", () => {
  it.each([
    [TaxType.EXTERNAL, 1000, 10],
    [TaxType.INTERNAL, 800, 8],
    [TaxType.EXTERNAL, 850, 9],
    [TaxType.EXTERNAL, 849, 8],
    [TaxType.EXEMPT, 0, 0],
  ])("tax type %i at %i basis points → tax_rate %i (whole percent, half up)", (type, bp, expected) => {
    expect(toLegacyItemDetail(item(100n), tax(type, bp)).taxRate).toBe(expected);
  });

  it.each([
    [2_147_483_647n, 2_147_483_647],
    [-2_147_483_648n, -2_147_483_648],
    [0n, 0],
  ])("price %s fits int32", (amount, expected) => {
    expect(toLegacyItemDetail(item(amount), tax(TaxType.EXTERNAL, 1000)).price).toBe(expected);
  });

  it.each([2_147_483_648n, -2_147_483_649n])("price %s does not: OUT_OF_RANGE", (amount) => {
    const call = () => toLegacyItemDetail(item(amount), tax(TaxType.EXTERNAL, 1000));
    expect(call).toThrow(ConnectError);
    expect(call).toThrow(expect.objectContaining({ code: Code.OutOfRange }));
  });

  it("dates: ISO 8601 UTC with milliseconds; empty when unknown", () => {
    const res = toLegacyItemDetail(item(1n), tax(TaxType.EXTERNAL, 1000));
    expect(res.createdAt).toBe("2026-11-23T14:07:11.123Z");
    expect(res.updatedAt).toBe("");
  });
});
