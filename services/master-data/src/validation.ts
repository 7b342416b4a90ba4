import { checkId, checkItemCode, checkLength, invalid, quote } from "@pos/common";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import type {
  BatchGetItemDetailsRequest,
  GetItemDetailRequest,
  ListItemsRequest,
  UpsertItemRequest,
  UpsertStorePriceRequest,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { taxCodes } from "./tax-master.js";

/**
 * Request checks, one clear `invalid_argument` per bad field, naming it.
 * Hand-written: protovalidate would need its schema from the Buf Schema
 * Registry, which this build must not depend on (offline, no BSR).
 */
export const limits = {
  batchItemCodes: 500,
  pageSizeDefault: 100,
  pageSizeMax: 1000,
  imageUrls: 20,
} as const;

const currencyPattern = /^[A-Z]{3}$/;

export function checkTenantId(tenantId: string): void {
  checkId("tenant_id", tenantId);
}

export function checkStoreScope(req: { tenantId: string; storeCode: string }): void {
  checkId("tenant_id", req.tenantId);
  checkId("store_code", req.storeCode);
}

export function checkGetItemDetail(req: GetItemDetailRequest): void {
  checkStoreScope(req);
  checkItemCode("item_code", req.itemCode);
  checkLength("terminal_id", req.terminalId, 64);
}

export function checkBatchGet(req: BatchGetItemDetailsRequest): void {
  checkStoreScope(req);
  checkLength("terminal_id", req.terminalId, 64);
  if (req.itemCodes.length === 0) throw invalid("item_codes", "must name at least one item");
  if (req.itemCodes.length > limits.batchItemCodes) {
    throw invalid("item_codes", `at most ${limits.batchItemCodes} codes per call, got ${req.itemCodes.length}`);
  }
  for (const [i, code] of req.itemCodes.entries()) checkItemCode(`item_codes[${i}]`, code);
}

export function checkListItems(req: ListItemsRequest): void {
  checkStoreScope(req);
  if (req.categoryCode !== "") checkId("category_code", req.categoryCode);
  if (req.pageSize < 0 || req.pageSize > limits.pageSizeMax) {
    throw invalid(
      "page_size",
      `must be 0 (default ${limits.pageSizeDefault}) to ${limits.pageSizeMax}, got ${req.pageSize}`,
    );
  }
}

export function checkUpsertItem(req: UpsertItemRequest): void {
  checkTenantId(req.tenantId);
  checkItemCode("item_code", req.itemCode);
  checkRequiredText("description", req.description, 200);
  checkLength("description_short", req.descriptionShort, 50);
  checkId("category_code", req.categoryCode);
  if (!taxCodes.includes(req.taxCode)) {
    throw invalid("tax_code", `must be a code of the tax master (${taxCodes.join(", ")}), got ${quote(req.taxCode)}`);
  }
  checkMoney("unit_price", req.unitPrice);
  checkLength("barcode", req.barcode, 64);
  if (req.imageUrls.length > limits.imageUrls) {
    throw invalid("image_urls", `at most ${limits.imageUrls} URLs, got ${req.imageUrls.length}`);
  }
  for (const [i, url] of req.imageUrls.entries()) checkHttpUrl(`image_urls[${i}]`, url);
}

/** Returns the (present) price. */
export function checkUpsertStorePrice(req: UpsertStorePriceRequest): Money {
  checkStoreScope(req);
  checkItemCode("item_code", req.itemCode);
  checkMoney("price", req.price);
  return req.price;
}

function checkRequiredText(field: string, value: string, max: number): void {
  if (value.trim() === "") throw invalid(field, "is required");
  checkLength(field, value, max);
}

export function checkMoney(field: string, money: Money | undefined): asserts money is Money {
  if (money === undefined) throw invalid(field, "is required");
  if (money.amount < 0n) throw invalid(`${field}.amount`, `must not be negative, got ${money.amount}`);
  if (!currencyPattern.test(money.currencyCode)) {
    throw invalid(`${field}.currency_code`, `must be an ISO 4217 code such as "JPY", got ${quote(money.currencyCode)}`);
  }
}

function checkHttpUrl(field: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, `must be an absolute URL, got ${quote(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid(field, "must be an http(s) URL");
  if (value.length > 2048) throw invalid(field, "must be at most 2048 characters");
}
