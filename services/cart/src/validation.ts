import { checkId, invalid, quote } from "@pos/common";

export { checkItemCode } from "@pos/common";

import type { CartRef, CreateCartRequest } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import type { CartKey } from "./store/cart-store.js";

/**
 * Request-level checks of the cart API (ids and references). Quantities,
 * discounts and payments are the sale domain's rules (sale/), checked there.
 */
const cartIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkCreateCart(req: CreateCartRequest): void {
  checkId("tenant_id", req.tenantId);
  checkId("store_code", req.storeCode);
  checkId("terminal_id", req.terminalId);
  checkId("staff_id", req.staffId);
}

/** The cart a request names, checked. */
export function checkCartRef(ref: CartRef | undefined): CartKey {
  if (ref === undefined) throw invalid("cart", "is required (tenant_id, store_code, cart_id)", "REQUIRED");
  checkId("cart.tenant_id", ref.tenantId);
  checkId("cart.store_code", ref.storeCode);
  if (ref.cartId === "") throw invalid("cart.cart_id", "is required", "REQUIRED");
  if (!cartIdPattern.test(ref.cartId)) {
    throw invalid("cart.cart_id", `must be a cart id as CreateCart returned it, got ${quote(ref.cartId)}`, "MALFORMED");
  }
  return { tenantId: ref.tenantId, storeCode: ref.storeCode, cartId: ref.cartId };
}

export function checkLineNo(lineNo: number): void {
  if (lineNo < 1) throw invalid("line_no", `must be 1 or more, got ${lineNo}`);
}
