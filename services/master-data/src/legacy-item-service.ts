import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { errorWithReason } from "@pos/common";
import {
  type ItemDetailResponse,
  ItemDetailResponseSchema,
  type ItemService as LegacyItemService,
} from "@pos/gen/legacy/item_service/item_service_pb.js";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { GetItemDetailRequestSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { type Tax, TaxType } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { findItem } from "./item-service.js";
import type { ItemStore } from "./store/item-store.js";
import { listTaxes } from "./tax-master.js";

const int32Max = 2n ** 31n - 1n;
const int32Min = -(2n ** 31n);

/**
 * The original system's item_service.ItemService, answered from the same store and with the same
 * validation and not-found errors as pos.masterdata.v1.ItemService/GetItemDetail.
 */
export function createLegacyItemService(store: ItemStore): ServiceImpl<typeof LegacyItemService> {
  const taxes = new Map(listTaxes().map((t) => [t.taxCode, t]));
  return {
    async getItemDetail(req) {
      const item = await findItem(
        store,
        create(GetItemDetailRequestSchema, {
          tenantId: req.tenantId,
          storeCode: req.storeCode,
          itemCode: req.itemCode,
        }),
      );
      return toLegacyItemDetail(item, taxes.get(item.taxCode));
    },
  };
}

/** The mapping, and its lossy spots: see the legacy proto's comments and README. */
export function toLegacyItemDetail(item: Item, tax: Tax | undefined): ItemDetailResponse {
  const amount = item.price?.amount ?? 0n;
  if (amount > int32Max || amount < int32Min) {
    // A wrong price at the till is worse than no answer.
    throw errorWithReason(
      Code.OutOfRange,
      "PRICE_OUT_OF_RANGE",
      `price ${amount} ${item.price?.currencyCode} of item "${item.itemCode}" does not fit the original contract's int32 price`,
    );
  }
  if (tax === undefined) {
    throw new ConnectError(
      `item "${item.itemCode}" has tax code "${item.taxCode}", not in the tax master`,
      Code.Internal,
    );
  }
  return create(ItemDetailResponseSchema, {
    itemCode: item.itemCode,
    itemName: item.description,
    price: Number(amount),
    taxRate: tax.type === TaxType.EXEMPT ? 0 : Math.round(tax.rateBasisPoints / 100),
    categoryCode: item.categoryCode,
    barcode: item.barcode,
    isActive: true,
    createdAt: item.createdAt === undefined ? "" : timestampDate(item.createdAt).toISOString(),
    updatedAt: item.updatedAt === undefined ? "" : timestampDate(item.updatedAt).toISOString(),
  });
}
