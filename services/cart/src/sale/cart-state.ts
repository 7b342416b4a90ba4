import { type Cart, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { failedPrecondition } from "./errors.js";

/** The operations of a sale, named as in sale.ts. */
export type SaleOp =
  | "addLines"
  | "updateQuantity"
  | "cancelLine"
  | "addDiscount"
  | "subtotal"
  | "addPayments"
  | "bill"
  | "cancel";

export interface Transition {
  /** The status the cart moves to. */
  readonly status: CartStatus;
  /** The cart is already where the op would take it (repeated Bill or CancelCart): change and record nothing. */
  readonly already: boolean;
}

/**
 * Where `op` takes a cart in its status, or a FAILED_PRECONDITION naming the
 * status and what to do. Only status and payments matter here; rules about
 * amounts (balance, live lines) belong to the operations.
 */
export function transition(cart: Pick<Cart, "status" | "payments">, op: SaleOp): Transition {
  const { status } = cart;
  const name = CartStatus[status] ?? String(status);
  const move = (to: CartStatus): Transition => ({ status: to, already: false });

  if (status === CartStatus.COMPLETED || status === CartStatus.CANCELLED) {
    // Repeats of the op that closed the cart succeed, so a client may retry after a lost response.
    if ((op === "bill" && status === CartStatus.COMPLETED) || (op === "cancel" && status === CartStatus.CANCELLED)) {
      return { status, already: true };
    }
    if (op === "cancel")
      throw failedPrecondition("CART_CLOSED", `cart is ${name}: a completed sale cannot be cancelled`);
    throw failedPrecondition("CART_CLOSED", `cart is ${name}: no further changes`);
  }
  if (status !== CartStatus.IDLE && status !== CartStatus.ENTERING_ITEM && status !== CartStatus.PAYING) {
    throw failedPrecondition("CART_STATUS_UNKNOWN", `cart status is ${name}: the cart was not created by CreateCart`);
  }

  switch (op) {
    case "cancel":
      return move(CartStatus.CANCELLED);
    case "addLines":
    case "updateQuantity":
    case "cancelLine":
    case "addDiscount":
      if (status === CartStatus.IDLE && op !== "addLines")
        throw failedPrecondition("WRONG_CART_STATUS", `cart is ${name}: add lines first`);
      if (status === CartStatus.PAYING && cart.payments.length > 0) {
        throw failedPrecondition("CART_HAS_PAYMENTS", "cart has payments: cancel the cart to change its lines");
      }
      return move(CartStatus.ENTERING_ITEM);
    case "subtotal":
      if (status === CartStatus.IDLE)
        throw failedPrecondition("WRONG_CART_STATUS", `cart is ${name}: add lines before Subtotal`);
      return move(CartStatus.PAYING);
    case "addPayments":
      if (status !== CartStatus.PAYING)
        throw failedPrecondition("WRONG_CART_STATUS", `cart is ${name}: call Subtotal before payments`);
      return move(CartStatus.PAYING);
    case "bill":
      if (status !== CartStatus.PAYING)
        throw failedPrecondition("WRONG_CART_STATUS", `cart is ${name}: call Subtotal and add payments before Bill`);
      return move(CartStatus.COMPLETED);
  }
}
