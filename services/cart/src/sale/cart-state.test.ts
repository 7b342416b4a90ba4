import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { CartSchema, CartStatus, PaymentSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { describe, expect, it } from "vitest";
import { type SaleOp, transition } from "./cart-state.js";
import { expectConnectError, jpy } from "./sale.fixtures.js";

/** A status the op moves to, "already" for an idempotent repeat, or the FAILED_PRECONDITION message. */
type Expected = CartStatus | "already" | { fails: string };

const { IDLE, ENTERING_ITEM, PAYING, COMPLETED, CANCELLED } = CartStatus;
const fails = (message: string) => ({ fails: message });
const changeLinesWithPayments = fails("cart has payments: cancel the cart to change its lines");

const table: Record<string, { status: CartStatus; payments: number; ops: Record<SaleOp, Expected> }> = {
  IDLE: {
    status: IDLE,
    payments: 0,
    ops: {
      addLines: ENTERING_ITEM,
      updateQuantity: fails("cart is IDLE: add lines first"),
      cancelLine: fails("cart is IDLE: add lines first"),
      addDiscount: fails("cart is IDLE: add lines first"),
      subtotal: fails("cart is IDLE: add lines before Subtotal"),
      addPayments: fails("cart is IDLE: call Subtotal before payments"),
      bill: fails("cart is IDLE: call Subtotal and add payments before Bill"),
      cancel: CANCELLED,
    },
  },
  ENTERING_ITEM: {
    status: ENTERING_ITEM,
    payments: 0,
    ops: {
      addLines: ENTERING_ITEM,
      updateQuantity: ENTERING_ITEM,
      cancelLine: ENTERING_ITEM,
      addDiscount: ENTERING_ITEM,
      subtotal: PAYING,
      addPayments: fails("cart is ENTERING_ITEM: call Subtotal before payments"),
      bill: fails("cart is ENTERING_ITEM: call Subtotal and add payments before Bill"),
      cancel: CANCELLED,
    },
  },
  "PAYING without payments": {
    status: PAYING,
    payments: 0,
    ops: {
      addLines: ENTERING_ITEM,
      updateQuantity: ENTERING_ITEM,
      cancelLine: ENTERING_ITEM,
      addDiscount: ENTERING_ITEM,
      subtotal: PAYING,
      addPayments: PAYING,
      bill: COMPLETED,
      cancel: CANCELLED,
    },
  },
  "PAYING with payments": {
    status: PAYING,
    payments: 1,
    ops: {
      addLines: changeLinesWithPayments,
      updateQuantity: changeLinesWithPayments,
      cancelLine: changeLinesWithPayments,
      addDiscount: changeLinesWithPayments,
      subtotal: PAYING,
      addPayments: PAYING,
      bill: COMPLETED,
      cancel: CANCELLED,
    },
  },
  COMPLETED: {
    status: COMPLETED,
    payments: 1,
    ops: {
      addLines: fails("cart is COMPLETED: no further changes"),
      updateQuantity: fails("cart is COMPLETED: no further changes"),
      cancelLine: fails("cart is COMPLETED: no further changes"),
      addDiscount: fails("cart is COMPLETED: no further changes"),
      subtotal: fails("cart is COMPLETED: no further changes"),
      addPayments: fails("cart is COMPLETED: no further changes"),
      bill: "already",
      cancel: fails("cart is COMPLETED: a completed sale cannot be cancelled"),
    },
  },
  CANCELLED: {
    status: CANCELLED,
    payments: 0,
    ops: {
      addLines: fails("cart is CANCELLED: no further changes"),
      updateQuantity: fails("cart is CANCELLED: no further changes"),
      cancelLine: fails("cart is CANCELLED: no further changes"),
      addDiscount: fails("cart is CANCELLED: no further changes"),
      subtotal: fails("cart is CANCELLED: no further changes"),
      addPayments: fails("cart is CANCELLED: no further changes"),
      bill: fails("cart is CANCELLED: no further changes"),
      cancel: "already",
    },
  },
  UNSPECIFIED: {
    status: CartStatus.UNSPECIFIED,
    payments: 0,
    ops: Object.fromEntries(
      (
        [
          "addLines",
          "updateQuantity",
          "cancelLine",
          "addDiscount",
          "subtotal",
          "addPayments",
          "bill",
          "cancel",
        ] as const
      ).map((op) => [op, fails("cart status is UNSPECIFIED: the cart was not created by CreateCart")]),
    ) as Record<SaleOp, Expected>,
  },
};

const rows = Object.entries(table).flatMap(([state, { status, payments, ops }]) =>
  Object.entries(ops).map(([op, expected]) => ({ state, status, payments, op: op as SaleOp, expected })),
);

describe("transition", () => {
  it.each(rows)("$state: $op", ({ status, payments, op, expected }) => {
    const cart = create(CartSchema, {
      status,
      payments: Array.from({ length: payments }, (_, i) =>
        create(PaymentSchema, { paymentNo: i + 1, paymentCode: "01", amount: jpy(100n) }),
      ),
    });
    if (typeof expected === "object") {
      expectConnectError(() => transition(cart, op), Code.FailedPrecondition, expected.fails);
    } else if (expected === "already") {
      expect(transition(cart, op)).toEqual({ status, already: true });
    } else {
      expect(transition(cart, op)).toEqual({ status: expected, already: false });
    }
  });
});
