import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { checkItemCode, errorWithReason, freezeMessage, invalid, isFrozenMessage } from "@pos/common";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import {
  type BatchGetItemDetailsResponse,
  BatchGetItemDetailsResponseSchema,
  DeleteItemResponseSchema,
  type GetItemDetailRequest,
  type GetItemDetailResponse,
  GetItemDetailResponseSchema,
  type ItemService,
  ListItemsResponseSchema,
  ListTaxesResponseSchema,
  UpsertItemResponseSchema,
  UpsertStorePriceResponseSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import type { ItemStore } from "./store/item-store.js";
import { listTaxes } from "./tax-master.js";
import {
  checkBatchGet,
  checkGetItemDetail,
  checkListItems,
  checkTenantId,
  checkUpsertItem,
  checkUpsertStorePrice,
  limits,
} from "./validation.js";

/**
 * One item as a store sells it, or the error saying what is missing: GetItemDetail's core, shared with
 * the original system's contract (legacy-item-service.ts).
 */
export async function findItem(store: ItemStore, req: GetItemDetailRequest): Promise<Item> {
  checkGetItemDetail(req);
  const [item] = await store.getItems(req.tenantId, req.storeCode, [req.itemCode]);
  if (item !== undefined) return item;
  throw await itemNotFound(store, req.tenantId, req.itemCode);
}

/** NotFound for a tenant that never had an item. */
async function requireCatalogue(store: ItemStore, tenantId: string): Promise<void> {
  if (!(await store.hasTenant(tenantId))) {
    throw errorWithReason(Code.NotFound, "TENANT_NOT_FOUND", `tenant "${tenantId}" has no catalogue`, {
      tenant_id: tenantId,
    });
  }
}

// Only asks about the tenant once an item is missing, so the hot path costs one query.
async function itemNotFound(store: ItemStore, tenantId: string, itemCode: string): Promise<ConnectError> {
  await requireCatalogue(store, tenantId);
  return errorWithReason(Code.NotFound, "ITEM_NOT_FOUND", `item "${itemCode}" not found in tenant "${tenantId}"`, {
    tenant_id: tenantId,
    item_code: itemCode,
  });
}

/**
 * One response per frozen item, itself frozen: the store hands out the same item until it changes,
 * so the answer (and its encoding, cached by the fast path) is shared too. A changed item is a new
 * object with a new entry; the old one's goes when the item is collected.
 */
function sharedResponses<R extends object>(make: (item: Item) => R): (item: Item) => R {
  const made = new WeakMap<Item, R>();
  return (item) => {
    if (!isFrozenMessage(item)) return make(item);
    let response = made.get(item);
    if (response === undefined) {
      response = freezeMessage(make(item));
      made.set(item, response);
    }
    return response;
  };
}

/** The ItemService handlers: validate → store → response. Errors name what is missing. */
export function createItemService(store: ItemStore): ServiceImpl<typeof ItemService> {
  const detail = sharedResponses((item): GetItemDetailResponse => create(GetItemDetailResponseSchema, { item }));
  // cart asks for one code per line it adds: the common batch is one item, found.
  const batchOfOne = sharedResponses(
    (item): BatchGetItemDetailsResponse => create(BatchGetItemDetailsResponseSchema, { items: [item] }),
  );
  return {
    async getItemDetail(req) {
      return detail(await findItem(store, req));
    },

    async batchGetItemDetails(req) {
      checkBatchGet(req);
      const codes = [...new Set(req.itemCodes)];
      const found = await store.getItems(req.tenantId, req.storeCode, codes);
      if (found.length === 0) await requireCatalogue(store, req.tenantId);
      const [only] = found;
      if (codes.length === 1 && only !== undefined) return batchOfOne(only);
      const byCode = new Map(found.map((item) => [item.itemCode, item]));
      return create(BatchGetItemDetailsResponseSchema, {
        items: codes.flatMap((c) => byCode.get(c) ?? []),
        notFoundItemCodes: codes.filter((c) => !byCode.has(c)),
      });
    },

    async listItems(req) {
      checkListItems(req);
      const pageSize = req.pageSize === 0 ? limits.pageSizeDefault : req.pageSize;
      const afterItemCode = decodePageToken(req.pageToken, req.categoryCode);
      // One extra row tells whether a next page exists without a count query.
      const rows = await store.listItems(req.tenantId, req.storeCode, {
        categoryCode: req.categoryCode === "" ? undefined : req.categoryCode,
        afterItemCode,
        limit: pageSize + 1,
      });
      if (rows.length === 0 && afterItemCode === undefined) await requireCatalogue(store, req.tenantId);
      const items = rows.slice(0, pageSize);
      const last = items.at(-1);
      return create(ListItemsResponseSchema, {
        items,
        nextPageToken:
          rows.length > pageSize && last !== undefined
            ? encodePageToken({ after: last.itemCode, category: req.categoryCode })
            : "",
      });
    },

    async upsertItem(req) {
      checkUpsertItem(req);
      const { item, created } = await store.upsertItem(req);
      return create(UpsertItemResponseSchema, { item, created });
    },

    async deleteItem(req) {
      checkTenantId(req.tenantId);
      checkItemCode("item_code", req.itemCode);
      if (!(await store.deleteItem(req.tenantId, req.itemCode))) {
        throw await itemNotFound(store, req.tenantId, req.itemCode);
      }
      return create(DeleteItemResponseSchema);
    },

    async upsertStorePrice(req) {
      const price = checkUpsertStorePrice(req);
      const [current] = await store.getItems(req.tenantId, req.storeCode, [req.itemCode]);
      if (current === undefined) {
        throw await itemNotFound(store, req.tenantId, req.itemCode);
      }
      const currency = current.unitPrice?.currencyCode;
      if (currency !== price.currencyCode) {
        throw invalid(
          "price.currency_code",
          `must match the item's currency "${currency}", got "${price.currencyCode}"`,
        );
      }
      const item = await store.upsertStorePrice(req.tenantId, req.storeCode, req.itemCode, price);
      if (item === undefined) {
        // Deleted between the read and the write.
        throw await itemNotFound(store, req.tenantId, req.itemCode);
      }
      return create(UpsertStorePriceResponseSchema, { item });
    },

    async listTaxes(req) {
      checkTenantId(req.tenantId);
      await requireCatalogue(store, req.tenantId);
      return create(ListTaxesResponseSchema, { taxes: listTaxes() });
    },
  };
}
