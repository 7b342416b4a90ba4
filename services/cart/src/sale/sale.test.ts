import { clone, create, equals } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { type Cart, CartSchema, CartStatus, DiscountType } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { LineItemInputSchema, PaymentInputSchema } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { describe, expect, it } from "vitest";
import { freezeCart } from "../store/cart-store.js";
import { money } from "./money.js";
import { expectConnectError, item, jpy, LATER, NOW, TAXES } from "./sale.fixtures.js";
import {
  addDiscount,
  addLines,
  addPayments,
  bill,
  cancel,
  cancelLine,
  checkLineInputs,
  checkPaymentInputs,
  type LineInput,
  newCart,
  subtotal,
  updateQuantity,
} from "./sale.js";

const IDS = { cartId: "cart-1", tenantId: "t1", storeCode: "s1", terminalId: "term-9", staffId: "staff-3" };
const A = item("A", 100n); // external 10 % half-up
const B = item("B", 1000n, { taxCode: "02" }); // internal 10 % down
const C = item("C", 105n, { taxCode: "11" }); // external 8 % down
const R = item("R", 500n, { restricted: true });
const X = item("X", 1234n, { taxCode: "00" }); // exempt

const entry = (i: Item, quantity = 1, override?: bigint): LineInput =>
  override === undefined ? { item: i, quantity } : { item: i, quantity, unitPriceOverride: jpy(override) };

function entering(...lines: LineInput[]): Cart {
  return addLines(newCart(IDS, NOW), lines, TAXES, NOW);
}

function paying(...lines: LineInput[]): Cart {
  return subtotal(entering(...lines), TAXES, NOW);
}

function pay(cart: Cart, ...payments: [string, bigint][]): Cart {
  return addPayments(
    cart,
    payments.map(([paymentCode, amount]) => ({ paymentCode, amount: jpy(amount) })),
    NOW,
  );
}

const totals = (cart: Cart) => ({
  total: cart.totalAmount?.amount,
  tax: cart.taxAmount?.amount,
  withTax: cart.totalAmountWithTax?.amount,
  paid: cart.paidAmount?.amount,
  balance: cart.balanceAmount?.amount,
  change: cart.changeAmount?.amount,
});

const updatedAt = (cart: Cart) => (cart.updatedAt ? timestampDate(cart.updatedAt) : undefined);

describe("newCart", () => {
  it("starts IDLE with the caller's ids, both timestamps at now and zero JPY totals", () => {
    const cart = newCart(IDS, NOW);
    expect(cart).toMatchObject({ ...IDS, status: CartStatus.IDLE, lines: [], payments: [], taxes: [] });
    expect([cart.createdAt, cart.updatedAt].map((t) => t && timestampDate(t))).toEqual([NOW, NOW]);
    expect([cart.totalAmount, cart.balanceAmount, cart.changeAmount]).toEqual([jpy(0n), jpy(0n), jpy(0n)]);
  });
});

describe("addLines", () => {
  it("adds one numbered line per entry from the item (or the override) and computes totals", () => {
    const cart = addLines(newCart(IDS, NOW), [entry(A, 3), entry(B, 1, 800n)], TAXES, LATER);
    expect(cart.status).toBe(CartStatus.ENTERING_ITEM);
    expect(
      cart.lines.map((l) => [
        l.lineNo,
        l.itemCode,
        l.description,
        l.categoryCode,
        l.taxCode,
        l.unitPrice?.amount,
        l.unitPriceOverridden,
        l.quantity,
        l.amount?.amount,
      ]),
    ).toEqual([
      [1, "A", "item A", "c1", "01", 100n, false, 3, 300n],
      [2, "B", "item B", "c1", "02", 800n, true, 1, 800n],
    ]);
    // 300 × 10 % external = 30; 800 × 1000 / 11000 = 72.7 internal, rounded down = 72.
    expect(totals(cart)).toEqual({ total: 1100n, tax: 102n, withTax: 1130n, paid: 0n, balance: 1130n, change: 0n });
    expect(updatedAt(cart)).toEqual(LATER);
  });

  it("numbers new lines after every existing line, cancelled ones included", () => {
    const cart = cancelLine(entering(entry(A), entry(A)), 2, TAXES, NOW);
    expect(addLines(cart, [entry(C)], TAXES, NOW).lines.map((l) => l.lineNo)).toEqual([1, 2, 3]);
  });

  it("copies is_discount_restricted and accepts a free item (override 0) or an unpriced item with an override", () => {
    const cart = entering(entry(R), entry(A, 1, 0n), entry(item("N", undefined), 2, 250n));
    expect(cart.lines.map((l) => [l.isDiscountRestricted, l.amount?.amount])).toEqual([
      [true, 500n],
      [false, 0n],
      [false, 500n],
    ]);
  });

  it.each<{ name: string; cart?: () => Cart; lines: LineInput[]; code: Code; message: string }>([
    { name: "no entries", lines: [], code: Code.InvalidArgument, message: "add 1..100 lines per call, got 0" },
    {
      name: "101 entries",
      lines: Array.from({ length: 101 }, () => entry(A)),
      code: Code.InvalidArgument,
      message: "add 1..100 lines per call, got 101",
    },
    {
      name: "quantity 0",
      lines: [entry(A, 0)],
      code: Code.InvalidArgument,
      message: "entry 1: quantity must be 1..9999, got 0",
    },
    {
      name: "quantity 10000",
      lines: [entry(A), entry(A, 10_000)],
      code: Code.InvalidArgument,
      message: "entry 2: quantity must be 1..9999, got 10000",
    },
    {
      name: "a fractional quantity",
      lines: [entry(A, 1.5)],
      code: Code.InvalidArgument,
      message: "quantity must be 1..9999, got 1.5",
    },
    {
      name: "a negative override",
      lines: [entry(A, 1, -1n)],
      code: Code.InvalidArgument,
      message: "entry 1: unit_price_override must be >= 0, got -1",
    },
    {
      name: "an override without currency",
      lines: [{ item: A, quantity: 1, unitPriceOverride: money(5n, "") }],
      code: Code.InvalidArgument,
      message: "entry 1: unit_price_override needs a currency_code",
    },
    {
      name: "an override in another currency than the item's price",
      lines: [{ item: A, quantity: 1, unitPriceOverride: money(5n, "USD") }],
      code: Code.InvalidArgument,
      message: 'unit_price_override of item "A" is in USD but its price is in JPY',
    },
    {
      name: "an item without a price and no override",
      lines: [entry(item("N", undefined))],
      code: Code.FailedPrecondition,
      message: 'item "N" has no price in store s1: give a unit_price_override',
    },
    {
      name: "an item priced in another currency than the cart",
      cart: () => entering(entry(A)),
      lines: [entry(item("U", 5n, { currency: "USD" }))],
      code: Code.InvalidArgument,
      message: 'entry 1: item "U" is priced in USD but the cart is in JPY',
    },
    {
      name: "mixed currencies within the first call",
      lines: [entry(A), entry(item("U", 5n, { currency: "USD" }))],
      code: Code.InvalidArgument,
      message: 'entry 2: item "U" is priced in USD but the cart is in JPY',
    },
    {
      name: "an item whose tax code the tax master lacks",
      lines: [entry(A), entry(item("T", 5n, { taxCode: "99" }))],
      code: Code.InvalidArgument,
      message: 'line 2 (item "T") has tax code "99", which is not in the tax master',
    },
    {
      name: "more than 500 lines in the cart",
      cart: () => {
        let cart = newCart(IDS, NOW);
        for (let i = 0; i < 5; i++)
          cart = addLines(
            cart,
            Array.from({ length: i < 4 ? 100 : 99 }, () => entry(A)),
            TAXES,
            NOW,
          );
        return cart;
      },
      lines: [entry(A), entry(A)],
      code: Code.FailedPrecondition,
      message: "cart has 499 lines and holds at most 500: 2 more do not fit",
    },
  ])("refuses $name", ({ cart, lines, code, message }) => {
    const before = cart ? cart() : newCart(IDS, NOW);
    expectConnectError(() => addLines(before, lines, TAXES, NOW), code, message);
  });

  it("checkLineInputs rejects bad quantities before any item is known, and takes the generated request entries", () => {
    const good = create(LineItemInputSchema, { itemCode: "A", quantity: 2, unitPriceOverride: jpy(10n) });
    expect(() => checkLineInputs([good])).not.toThrow();
    expectConnectError(
      () => checkLineInputs([good, create(LineItemInputSchema, { itemCode: "A", quantity: 0 })]),
      Code.InvalidArgument,
      "entry 2: quantity must be 1..9999, got 0",
    );
  });
});

describe("updateQuantity", () => {
  it("recomputes percent discounts from the new gross and keeps amount discounts", () => {
    let cart = entering(entry(A, 10));
    cart = addDiscount(cart, 1, DiscountType.AMOUNT, 50n, TAXES, NOW);
    cart = addDiscount(cart, 1, DiscountType.PERCENT, 1000n, TAXES, NOW);
    expect(cart.lines[0]?.amount?.amount).toBe(850n);
    const updated = updateQuantity(cart, 1, 20, TAXES, LATER);
    expect(updated.lines[0]?.discounts.map((d) => d.amount?.amount)).toEqual([50n, 200n]);
    expect(totals(updated)).toMatchObject({ total: 1750n, tax: 175n, withTax: 1925n });
    expect(updatedAt(updated)).toEqual(LATER);
  });

  it.each<{ name: string; cart: () => Cart; lineNo: number; quantity: number; code: Code; message: string }>([
    {
      name: "a quantity that leaves the amount discounts above the gross",
      cart: () => addDiscount(entering(entry(A, 10)), 1, DiscountType.AMOUNT, 900n, TAXES, NOW),
      lineNo: 1,
      quantity: 5,
      code: Code.InvalidArgument,
      message: "quantity 5 would make line 1 negative: its discounts of 900 JPY exceed the new gross 500 JPY",
    },
    {
      name: "quantity 0",
      cart: () => entering(entry(A)),
      lineNo: 1,
      quantity: 0,
      code: Code.InvalidArgument,
      message: "quantity must be 1..9999, got 0",
    },
    {
      name: "an unknown line",
      cart: () => entering(entry(A), entry(A), entry(A)),
      lineNo: 7,
      quantity: 1,
      code: Code.InvalidArgument,
      message: "line 7 does not exist (cart has 3 lines)",
    },
    {
      name: "a cancelled line",
      cart: () => cancelLine(entering(entry(A), entry(A), entry(A)), 3, TAXES, NOW),
      lineNo: 3,
      quantity: 2,
      code: Code.FailedPrecondition,
      message: "line 3 is cancelled: add the item again instead",
    },
  ])("refuses $name", ({ cart, lineNo, quantity, code, message }) => {
    expectConnectError(() => updateQuantity(cart(), lineNo, quantity, TAXES, NOW), code, message);
  });
});

describe("cancelLine", () => {
  it("keeps the line's number and discounts, sets its amount to 0 and drops it from totals and taxes", () => {
    const discounted = addDiscount(entering(entry(A, 2), entry(C)), 1, DiscountType.AMOUNT, 20n, TAXES, NOW);
    const cart = cancelLine(discounted, 1, TAXES, LATER);
    expect(cart.lines.map((l) => [l.lineNo, l.isCancelled, l.amount?.amount, l.discounts.length])).toEqual([
      [1, true, 0n, 1],
      [2, false, 105n, 0],
    ]);
    expect(cart.taxes.map((t) => t.taxCode)).toEqual(["11"]);
    expect(totals(cart)).toMatchObject({ total: 105n, tax: 8n, withTax: 113n });
    expect(updatedAt(cart)).toEqual(LATER);
  });

  it("refuses to cancel a line twice or a line that does not exist", () => {
    const cart = cancelLine(entering(entry(A)), 1, TAXES, NOW);
    expectConnectError(() => cancelLine(cart, 1, TAXES, NOW), Code.FailedPrecondition, "line 1 is already cancelled");
    expectConnectError(
      () => cancelLine(cart, 0, TAXES, NOW),
      Code.InvalidArgument,
      "line 0 does not exist (cart has 1 lines)",
    );
  });
});

describe("addDiscount", () => {
  it("records type, value and the computed amount (percent floored) and lowers the totals", () => {
    // 10 % of 339 = 33.9, floored to 33.
    const cart = addDiscount(entering(entry(item("P", 339n))), 1, DiscountType.PERCENT, 1000n, TAXES, LATER);
    const [line] = cart.lines;
    expect(line?.discounts.map((d) => [d.type, d.value, d.amount])).toEqual([[DiscountType.PERCENT, 1000n, jpy(33n)]]);
    expect(totals(cart)).toMatchObject({ total: 306n, tax: 31n, withTax: 337n });
    expect(updatedAt(cart)).toEqual(LATER);
  });

  it("lets discounts take a line to exactly 0", () => {
    const cart = addDiscount(entering(entry(A, 2)), 1, DiscountType.AMOUNT, 200n, TAXES, NOW);
    expect(totals(cart)).toMatchObject({ total: 0n, tax: 0n });
  });

  it.each<{
    name: string;
    cart: () => Cart;
    lineNo?: number;
    type: DiscountType;
    value: bigint;
    code: Code;
    message: string;
  }>([
    {
      name: "an amount of 0",
      cart: () => entering(entry(A)),
      type: DiscountType.AMOUNT,
      value: 0n,
      code: Code.InvalidArgument,
      message: "AMOUNT discount must be > 0 minor units, got 0",
    },
    {
      name: "a negative amount",
      cart: () => entering(entry(A)),
      type: DiscountType.AMOUNT,
      value: -5n,
      code: Code.InvalidArgument,
      message: "got -5",
    },
    {
      name: "a percent of 0",
      cart: () => entering(entry(A)),
      type: DiscountType.PERCENT,
      value: 0n,
      code: Code.InvalidArgument,
      message: "PERCENT discount must be 1..10000 basis points (1000 = 10 %), got 0",
    },
    {
      name: "a percent above 100 %",
      cart: () => entering(entry(A)),
      type: DiscountType.PERCENT,
      value: 10_001n,
      code: Code.InvalidArgument,
      message: "got 10001",
    },
    {
      name: "an unspecified type",
      cart: () => entering(entry(A)),
      type: DiscountType.UNSPECIFIED,
      value: 5n,
      code: Code.InvalidArgument,
      message: "discount type must be AMOUNT or PERCENT, got UNSPECIFIED",
    },
    {
      name: "an amount beyond the line",
      cart: () => entering(entry(B)),
      type: DiscountType.AMOUNT,
      value: 1500n,
      code: Code.InvalidArgument,
      message: "discount of 1,500 JPY exceeds the line's remaining 1,000 JPY",
    },
    {
      name: "a percent beyond what earlier discounts left",
      cart: () => addDiscount(entering(entry(B)), 1, DiscountType.AMOUNT, 600n, TAXES, NOW),
      type: DiscountType.PERCENT,
      value: 5000n,
      code: Code.InvalidArgument,
      message: "discount of 500 JPY exceeds the line's remaining 400 JPY",
    },
    {
      name: "a discount-restricted item",
      cart: () => entering(entry(A), entry(R)),
      lineNo: 2,
      type: DiscountType.AMOUNT,
      value: 10n,
      code: Code.FailedPrecondition,
      message: 'line 2 (item "R") is discount-restricted: it takes no discounts',
    },
    {
      name: "a cancelled line",
      cart: () => cancelLine(entering(entry(A)), 1, TAXES, NOW),
      type: DiscountType.AMOUNT,
      value: 10n,
      code: Code.FailedPrecondition,
      message: "line 1 is cancelled",
    },
  ])("refuses $name", ({ cart, lineNo, type, value, code, message }) => {
    expectConnectError(() => addDiscount(cart(), lineNo ?? 1, type, value, TAXES, NOW), code, message);
  });
});

describe("subtotal", () => {
  it("moves to PAYING with totals", () => {
    const cart = subtotal(entering(entry(A, 3)), TAXES, LATER);
    expect(cart.status).toBe(CartStatus.PAYING);
    expect(totals(cart)).toEqual({ total: 300n, tax: 30n, withTax: 330n, paid: 0n, balance: 330n, change: 0n });
    expect(updatedAt(cart)).toEqual(LATER);
  });

  it("in PAYING recomputes with the tax master it is given", () => {
    const cart = paying(entry(A, 3));
    const eight = TAXES.map((t) => (t.taxCode === "01" ? { ...t, rateBasisPoints: 800 } : t));
    const again = subtotal(cart, eight, NOW);
    expect([again.status, again.taxAmount?.amount]).toEqual([CartStatus.PAYING, 24n]);
  });

  it("needs at least one live line", () => {
    const cart = cancelLine(entering(entry(A)), 1, TAXES, NOW);
    expectConnectError(
      () => subtotal(cart, TAXES, NOW),
      Code.FailedPrecondition,
      "cart has no live lines: add items before Subtotal",
    );
  });
});

describe("line changes in PAYING", () => {
  const changes: [string, (cart: Cart) => Cart][] = [
    ["addLines", (cart) => addLines(cart, [entry(A)], TAXES, NOW)],
    ["updateQuantity", (cart) => updateQuantity(cart, 1, 2, TAXES, NOW)],
    ["cancelLine", (cart) => cancelLine(cart, 1, TAXES, NOW)],
    ["addDiscount", (cart) => addDiscount(cart, 1, DiscountType.AMOUNT, 10n, TAXES, NOW)],
  ];

  it.each(changes)("%s before any payment returns the cart to ENTERING_ITEM", (_, change) => {
    expect(change(paying(entry(A, 3))).status).toBe(CartStatus.ENTERING_ITEM);
  });

  it.each(changes)("%s after a payment is refused", (_, change) => {
    const cart = pay(paying(entry(A, 3)), ["11", 100n]);
    expectConnectError(
      () => change(cart),
      Code.FailedPrecondition,
      "cart has payments: cancel the cart to change its lines",
    );
  });
});

describe("addPayments", () => {
  // A × 3 at 10 % external: 330 due.
  const due330 = () => paying(entry(A, 3));

  it("numbers payments, keeps PAYING and settles balance and change", () => {
    const once = pay(due330(), ["11", 200n]);
    expect(totals(once)).toMatchObject({ paid: 200n, balance: 130n, change: 0n });
    const twice = addPayments(once, [{ paymentCode: "01", amount: jpy(500n) }], LATER);
    expect(twice.status).toBe(CartStatus.PAYING);
    expect(twice.payments.map((p) => [p.paymentNo, p.paymentCode, p.amount])).toEqual([
      [1, "11", jpy(200n)],
      [2, "01", jpy(500n)],
    ]);
    expect(totals(twice)).toMatchObject({ paid: 700n, balance: 0n, change: 370n });
    expect(updatedAt(twice)).toEqual(LATER);
  });

  it.each(["11", "12", "21"])("lets %s pay exactly the balance, and cash go beyond it", (code) => {
    expect(totals(pay(due330(), [code, 330n]))).toMatchObject({ balance: 0n, change: 0n });
    expect(totals(pay(due330(), [code, 30n], ["01", 1000n]))).toMatchObject({ paid: 1030n, balance: 0n, change: 700n });
  });

  it.each<{ name: string; payments: { paymentCode: string; amount?: ReturnType<typeof jpy> }[]; message: string }>([
    { name: "no entries", payments: [], message: "add 1..20 payments per call, got 0" },
    {
      name: "21 entries",
      payments: Array.from({ length: 21 }, () => ({ paymentCode: "01", amount: jpy(1n) })),
      message: "got 21",
    },
    {
      name: "an unknown payment code",
      payments: [{ paymentCode: "99", amount: jpy(1n) }],
      message:
        'payment entry 1: payment code "99" is unknown: use one of 01 (cash), 11 (credit card), 12 (e-money), 21 (gift card)',
    },
    {
      name: "an amount of 0",
      payments: [{ paymentCode: "01", amount: jpy(0n) }],
      message: "payment entry 1: amount must be > 0, got 0",
    },
    { name: "no amount", payments: [{ paymentCode: "01" }], message: "payment entry 1: amount must be > 0, got none" },
    {
      name: "another currency",
      payments: [{ paymentCode: "01", amount: money(5n, "USD") }],
      message: 'payment entry 1: amount is in "USD" but the cart is in JPY',
    },
    {
      name: "a card beyond the balance",
      payments: [{ paymentCode: "11", amount: jpy(331n) }],
      message:
        "payment entry 1: credit card payment of 331 JPY exceeds the remaining balance 330 JPY; only cash may exceed it",
    },
    {
      name: "a gift card beyond what an earlier entry left",
      payments: [
        { paymentCode: "01", amount: jpy(300n) },
        { paymentCode: "21", amount: jpy(31n) },
      ],
      message: "payment entry 2: gift card payment of 31 JPY exceeds the remaining balance 30 JPY",
    },
    {
      name: "an entry after the balance is covered",
      payments: [
        { paymentCode: "01", amount: jpy(500n) },
        { paymentCode: "01", amount: jpy(10n) },
      ],
      message: "payment entry 2: the entries before it already cover the balance",
    },
  ])("refuses $name", ({ payments, message }) => {
    expectConnectError(() => addPayments(due330(), payments, NOW), Code.InvalidArgument, message);
  });

  it("refuses payments before Subtotal and once the balance is 0", () => {
    expectConnectError(
      () => pay(entering(entry(A)), ["01", 10n]),
      Code.FailedPrecondition,
      "cart is ENTERING_ITEM: call Subtotal before payments",
    );
    expectConnectError(
      () => pay(pay(due330(), ["01", 330n]), ["01", 10n]),
      Code.FailedPrecondition,
      "balance is 0: call Bill",
    );
  });

  it("checkPaymentInputs takes the generated request entries", () => {
    expectConnectError(
      () => checkPaymentInputs([create(PaymentInputSchema, { paymentCode: "12", amount: jpy(-1n) })]),
      Code.InvalidArgument,
      "payment entry 1: amount must be > 0, got -1",
    );
  });
});

describe("bill", () => {
  it("completes a paid cart once; a repeat answers the same cart with already = true", () => {
    const paid = pay(paying(entry(A, 3)), ["01", 1000n]);
    const first = bill(paid, LATER);
    expect([first.already, first.cart.status, updatedAt(first.cart)]).toEqual([false, CartStatus.COMPLETED, LATER]);
    const again = bill(first.cart, new Date("2025-03-02T00:00:00Z"));
    expect(again.already).toBe(true);
    expect(equals(CartSchema, again.cart, first.cart)).toBe(true);
  });

  it("completes a cart whose total is 0 without payments", () => {
    const free = subtotal(addDiscount(entering(entry(A)), 1, DiscountType.PERCENT, 10_000n, TAXES, NOW), TAXES, NOW);
    expect(bill(free, NOW).cart.status).toBe(CartStatus.COMPLETED);
  });

  it("refuses while a balance remains, naming it", () => {
    const cart = pay(paying(entry(X, 2)), ["11", 1234n]);
    expectConnectError(
      () => bill(cart, NOW),
      Code.FailedPrecondition,
      "balance 1,234 JPY remains: add payments before Bill",
    );
  });

  it("refuses before Subtotal and after cancel", () => {
    expectConnectError(() => bill(entering(entry(A)), NOW), Code.FailedPrecondition, "cart is ENTERING_ITEM");
    expectConnectError(
      () => bill(cancel(entering(entry(A)), NOW).cart, NOW),
      Code.FailedPrecondition,
      "cart is CANCELLED: no further changes",
    );
  });
});

describe("cancel", () => {
  it.each<[string, () => Cart]>([
    ["IDLE", () => newCart(IDS, NOW)],
    ["ENTERING_ITEM", () => entering(entry(A))],
    ["PAYING with payments", () => pay(paying(entry(A, 3)), ["11", 100n])],
  ])("cancels a cart in %s; a repeat answers already = true", (_, make) => {
    const first = cancel(make(), LATER);
    expect([first.already, first.cart.status, updatedAt(first.cart)]).toEqual([false, CartStatus.CANCELLED, LATER]);
    const again = cancel(first.cart, NOW);
    expect(again.already).toBe(true);
    expect(equals(CartSchema, again.cart, first.cart)).toBe(true);
  });

  it("refuses a completed cart, and a cancelled cart takes no further changes", () => {
    const completed = bill(pay(paying(entry(A)), ["01", 110n]), NOW).cart;
    expectConnectError(
      () => cancel(completed, NOW),
      Code.FailedPrecondition,
      "cart is COMPLETED: a completed sale cannot be cancelled",
    );
    expectConnectError(
      () => addLines(completed, [entry(A)], TAXES, NOW),
      Code.FailedPrecondition,
      "cart is COMPLETED: no further changes",
    );
    const cancelled = cancel(entering(entry(A)), NOW).cart;
    expectConnectError(
      () => addLines(cancelled, [entry(A)], TAXES, NOW),
      Code.FailedPrecondition,
      "cart is CANCELLED: no further changes",
    );
  });
});

describe("immutability", () => {
  const base = () => pay(paying(entry(A, 3), entry(B)), ["11", 100n]);
  it.each<[string, () => Cart, (cart: Cart) => unknown]>([
    ["addLines", () => entering(entry(A)), (c) => addLines(c, [entry(C)], TAXES, LATER)],
    ["updateQuantity", () => entering(entry(A)), (c) => updateQuantity(c, 1, 5, TAXES, LATER)],
    ["cancelLine", () => entering(entry(A)), (c) => cancelLine(c, 1, TAXES, LATER)],
    ["addDiscount", () => entering(entry(A)), (c) => addDiscount(c, 1, DiscountType.AMOUNT, 5n, TAXES, LATER)],
    ["subtotal", () => entering(entry(A)), (c) => subtotal(c, TAXES, LATER)],
    ["addPayments", base, (c) => pay(c, ["01", 5000n])],
    ["bill", () => pay(base(), ["01", 5000n]), (c) => bill(c, LATER).cart],
    ["cancel", base, (c) => cancel(c, LATER).cart],
  ])("%s returns a new cart and leaves its input as it was", (_, make, op) => {
    const input = make();
    const snapshot = clone(CartSchema, input);
    const result = op(input);
    expect(result).not.toBe(input);
    expect(equals(CartSchema, input, snapshot)).toBe(true);
  });
});

describe("a whole sale", () => {
  it("create → add → discount → subtotal → pay → bill", () => {
    let cart = newCart(IDS, NOW);
    cart = addLines(cart, [entry(A, 2), entry(B), entry(C, 3)], TAXES, NOW);
    cart = addDiscount(cart, 1, DiscountType.PERCENT, 1000n, TAXES, NOW);
    cart = subtotal(cart, TAXES, NOW);
    // A: 200 − 20 = 180, tax 18 (external); B: 1000, 90 inside (internal); C: 315, tax 25 (external, once per group).
    expect(cart.taxes.map((t) => [t.taxCode, t.targetAmount?.amount, t.taxAmount?.amount, t.isInternal])).toEqual([
      ["01", 180n, 18n, false],
      ["02", 1000n, 90n, true],
      ["11", 315n, 25n, false],
    ]);
    expect(totals(cart)).toEqual({ total: 1495n, tax: 133n, withTax: 1538n, paid: 0n, balance: 1538n, change: 0n });
    cart = pay(cart, ["12", 1000n], ["01", 1000n]);
    expect(totals(cart)).toMatchObject({ paid: 2000n, balance: 0n, change: 462n });
    const billed = bill(cart, LATER);
    expect([billed.already, billed.cart.status]).toEqual([false, CartStatus.COMPLETED]);
    expect(bill(billed.cart, LATER).already).toBe(true);
  });
});

describe("every operation leaves its input as it was", () => {
  // Stores hand out frozen carts and share lines between versions: a write to the input would throw here.
  const frozen = (cart: Cart): Cart => freezeCart(clone(CartSchema, cart));
  const discounted = () => addDiscount(entering(entry(A, 2), entry(C)), 1, DiscountType.PERCENT, 1000n, TAXES, NOW);

  it.each([
    ["addLines", () => addLines(frozen(discounted()), [entry(B)], TAXES, LATER)],
    ["updateQuantity", () => updateQuantity(frozen(discounted()), 1, 5, TAXES, LATER)],
    ["cancelLine", () => cancelLine(frozen(discounted()), 2, TAXES, LATER)],
    ["addDiscount", () => addDiscount(frozen(discounted()), 2, DiscountType.AMOUNT, 5n, TAXES, LATER)],
    ["subtotal", () => subtotal(frozen(discounted()), TAXES, LATER)],
    ["addPayments", () => pay(frozen(subtotal(discounted(), TAXES, NOW)), ["11", 10n])],
    ["bill", () => bill(frozen(pay(subtotal(discounted(), TAXES, NOW), ["01", 100_000n])), LATER).cart],
    ["cancel", () => cancel(frozen(discounted()), LATER).cart],
  ] as const)("%s", (_name, run) => {
    const result = run();
    expect(Object.isFrozen(result)).toBe(false);
  });

  it("re-pricing shares the lines that did not change", () => {
    const cart = discounted();
    const next = addLines(cart, [entry(B)], TAXES, LATER);
    expect(next.lines[0]).toBe(cart.lines[0]);
    expect(next.lines[1]).toBe(cart.lines[1]);
    expect(next.lines).toHaveLength(3);
  });
});
