import { clone, create, equals } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  type Cart,
  CartSchema,
  DiscountSchema,
  DiscountType,
  type LineItem,
  LineItemSchema,
  PaymentSchema,
} from "@pos/gen/pos/cart/v1/cart_pb.js";
import { RoundingMethod, TaxType } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { describe, expect, it } from "vitest";
import { MAX_AMOUNT, money } from "./money.js";
import { expectConnectError, jpy, TAXES, tax } from "./sale.fixtures.js";
import { computeTotals, settle } from "./totals.js";

interface LineSpec {
  price: bigint;
  qty?: number;
  taxCode: string;
  percent?: bigint;
  off?: bigint;
  cancelled?: boolean;
  currency?: string;
}

function cartOf(specs: readonly LineSpec[], payments: readonly bigint[] = []): Cart {
  return create(CartSchema, {
    lines: specs.map((s, i) => lineOf(s, i + 1)),
    payments: payments.map((amount, i) =>
      create(PaymentSchema, { paymentNo: i + 1, paymentCode: "01", amount: jpy(amount) }),
    ),
  });
}

function lineOf(s: LineSpec, lineNo: number): LineItem {
  const discounts = [
    ...(s.off === undefined ? [] : [create(DiscountSchema, { type: DiscountType.AMOUNT, value: s.off })]),
    ...(s.percent === undefined ? [] : [create(DiscountSchema, { type: DiscountType.PERCENT, value: s.percent })]),
  ];
  return create(LineItemSchema, {
    lineNo,
    itemCode: `i${lineNo}`,
    taxCode: s.taxCode,
    unitPrice: money(s.price, s.currency ?? "JPY"),
    quantity: s.qty ?? 1,
    discounts,
    isCancelled: s.cancelled ?? false,
  });
}

/** [tax_code, target, tax] per TaxLine, and the cart's totals. */
function summary(cart: Cart) {
  return {
    taxes: cart.taxes.map((t) => [t.taxCode, t.targetAmount?.amount, t.taxAmount?.amount]),
    total: cart.totalAmount?.amount,
    tax: cart.taxAmount?.amount,
    withTax: cart.totalAmountWithTax?.amount,
  };
}

describe("computeTotals: tax per group", () => {
  it.each<{
    name: string;
    lines: LineSpec[];
    taxes: [string, bigint, bigint][];
    total: bigint;
    tax: bigint;
    withTax: bigint;
  }>([
    {
      name: "3 × 100 at 10 % external half-up",
      lines: [{ price: 100n, qty: 3, taxCode: "01" }],
      taxes: [["01", 300n, 30n]],
      total: 300n,
      tax: 30n,
      withTax: 330n,
    },
    {
      // Per line it would be 3 × floor(8.4) = 24; once per group floor(25.2) = 25.
      name: "three lines of 105 at 8 % external down round once per group",
      lines: [
        { price: 105n, taxCode: "11" },
        { price: 105n, taxCode: "11" },
        { price: 105n, taxCode: "11" },
      ],
      taxes: [["11", 315n, 25n]],
      total: 315n,
      tax: 25n,
      withTax: 340n,
    },
    {
      name: "internal 10 % down of 1000 is 90 and adds nothing to the total",
      lines: [{ price: 1000n, taxCode: "02" }],
      taxes: [["02", 1000n, 90n]],
      total: 1000n,
      tax: 90n,
      withTax: 1000n,
    },
    {
      name: "internal 10 % up of 1000 is 91",
      lines: [{ price: 1000n, taxCode: "03" }],
      taxes: [["03", 1000n, 91n]],
      total: 1000n,
      tax: 91n,
      withTax: 1000n,
    },
    {
      name: "half-up at exactly .5 rounds up (105 × 10 % = 10.5)",
      lines: [{ price: 105n, taxCode: "01" }],
      taxes: [["01", 105n, 11n]],
      total: 105n,
      tax: 11n,
      withTax: 116n,
    },
    {
      name: "half-up below .5 rounds down (104 × 10 % = 10.4)",
      lines: [{ price: 104n, taxCode: "01" }],
      taxes: [["01", 104n, 10n]],
      total: 104n,
      tax: 10n,
      withTax: 114n,
    },
    {
      name: "external up rounds any fraction up (101 × 8 % = 8.08)",
      lines: [{ price: 101n, taxCode: "13" }],
      taxes: [["13", 101n, 9n]],
      total: 101n,
      tax: 9n,
      withTax: 110n,
    },
    {
      name: "exempt has a tax line of 0",
      lines: [{ price: 500n, taxCode: "00" }],
      taxes: [["00", 500n, 0n]],
      total: 500n,
      tax: 0n,
      withTax: 500n,
    },
    {
      name: "mixed groups in tax-code order; only external taxes raise the total",
      lines: [
        { price: 100n, qty: 2, taxCode: "01" },
        { price: 105n, qty: 3, taxCode: "11" },
        { price: 1000n, taxCode: "02" },
        { price: 500n, taxCode: "00" },
      ],
      taxes: [
        ["00", 500n, 0n],
        ["01", 200n, 20n],
        ["02", 1000n, 90n],
        ["11", 315n, 25n],
      ],
      total: 2015n,
      tax: 135n,
      withTax: 2060n,
    },
    {
      name: "cancelled lines count for nothing, and a group of only cancelled lines has no tax line",
      lines: [
        { price: 100n, taxCode: "01" },
        { price: 1000n, taxCode: "01", cancelled: true },
        { price: 1000n, taxCode: "11", cancelled: true },
      ],
      taxes: [["01", 100n, 10n]],
      total: 100n,
      tax: 10n,
      withTax: 110n,
    },
    {
      name: "tax applies to discounted amounts (995 × 10 % = 99.5 → 100)",
      lines: [{ price: 1000n, taxCode: "01", off: 5n }],
      taxes: [["01", 995n, 100n]],
      total: 995n,
      tax: 100n,
      withTax: 1095n,
    },
    {
      name: "an empty cart has no taxes and zero totals",
      lines: [],
      taxes: [],
      total: 0n,
      tax: 0n,
      withTax: 0n,
    },
  ])("$name", ({ lines, taxes, total, tax, withTax }) => {
    expect(summary(computeTotals(cartOf(lines), TAXES))).toEqual({ taxes, total, tax, withTax });
  });

  it("names the tax master's entries on the tax lines and marks internal ones", () => {
    const cart = computeTotals(
      cartOf([
        { price: 100n, taxCode: "01" },
        { price: 100n, taxCode: "02" },
      ]),
      TAXES,
    );
    expect(cart.taxes.map((t) => [t.name, t.isInternal])).toEqual([
      ["external 10 % half-up", false],
      ["internal 10 % down", true],
    ]);
  });
});

describe("computeTotals: line amounts", () => {
  it.each<{ name: string; line: LineSpec; discounts: bigint[]; amount: bigint }>([
    { name: "gross = price × quantity", line: { price: 120n, qty: 3, taxCode: "01" }, discounts: [], amount: 360n },
    {
      name: "percent is floored (10 % of 339 = 33.9 → 33)",
      line: { price: 339n, taxCode: "01", percent: 1000n },
      discounts: [33n],
      amount: 306n,
    },
    {
      name: "1 basis point of 100 floors to 0",
      line: { price: 100n, taxCode: "01", percent: 1n },
      discounts: [0n],
      amount: 100n,
    },
    {
      name: "100 % takes the whole line",
      line: { price: 250n, qty: 2, taxCode: "01", percent: 10_000n },
      discounts: [500n],
      amount: 0n,
    },
    {
      name: "percent applies to the gross, not to what the amount discount left",
      line: { price: 1000n, qty: 2, taxCode: "01", off: 150n, percent: 500n },
      discounts: [150n, 100n],
      amount: 1750n,
    },
    {
      name: "a cancelled line counts 0",
      line: { price: 1000n, qty: 2, taxCode: "01", cancelled: true },
      discounts: [],
      amount: 0n,
    },
  ])("$name", ({ line, discounts, amount }) => {
    const [priced] = computeTotals(cartOf([line]), TAXES).lines;
    expect({ discounts: priced?.discounts.map((d) => d.amount?.amount), amount: priced?.amount?.amount }).toEqual({
      discounts,
      amount,
    });
  });

  it("keeps line numbers and leaves the input cart untouched", () => {
    const input = cartOf([
      { price: 100n, taxCode: "01" },
      { price: 200n, taxCode: "01", cancelled: true },
    ]);
    const before = clone(CartSchema, input);
    const cart = computeTotals(input, TAXES);
    expect(cart.lines.map((l) => l.lineNo)).toEqual([1, 2]);
    expect(equals(CartSchema, input, before)).toBe(true);
  });
});

describe("computeTotals: paid, balance, change", () => {
  // 3 × 100 at 10 % external = 330 due.
  it.each([
    { paid: [], paidAmount: 0n, balance: 330n, change: 0n },
    { paid: [300n], paidAmount: 300n, balance: 30n, change: 0n },
    { paid: [300n, 30n], paidAmount: 330n, balance: 0n, change: 0n },
    { paid: [1000n], paidAmount: 1000n, balance: 0n, change: 670n },
  ])("paying $paid leaves balance $balance and change $change", ({ paid, paidAmount, balance, change }) => {
    const cart = computeTotals(cartOf([{ price: 100n, qty: 3, taxCode: "01" }], paid), TAXES);
    expect([cart.paidAmount, cart.balanceAmount, cart.changeAmount]).toEqual([
      jpy(paidAmount),
      jpy(balance),
      jpy(change),
    ]);
  });

  it("settle recomputes payments against the stored total without touching taxes", () => {
    const cart = computeTotals(cartOf([{ price: 100n, qty: 3, taxCode: "01" }]), TAXES);
    cart.payments.push(create(PaymentSchema, { paymentNo: 1, paymentCode: "01", amount: jpy(500n) }));
    const settled = settle(cart);
    expect([settled.taxAmount, settled.balanceAmount, settled.changeAmount]).toEqual([jpy(30n), jpy(0n), jpy(170n)]);
  });

  it("uses the cart's currency for every money field, JPY when the cart is empty", () => {
    expect(computeTotals(cartOf([]), TAXES).totalAmount).toEqual(jpy(0n));
    const usd = computeTotals(cartOf([{ price: 100n, taxCode: "01", currency: "USD" }]), TAXES);
    expect(
      [usd.totalAmount, usd.taxAmount, usd.totalAmountWithTax, usd.paidAmount, usd.balanceAmount, usd.changeAmount].map(
        (m) => m?.currencyCode,
      ),
    ).toEqual(["USD", "USD", "USD", "USD", "USD", "USD"]);
  });
});

describe("computeTotals: refusals", () => {
  it.each<{ name: string; cart: () => Cart; message: string }>([
    {
      name: "a tax code the tax master lacks",
      cart: () =>
        cartOf([
          { price: 100n, taxCode: "01" },
          { price: 100n, taxCode: "99" },
        ]),
      message: 'line 2 (item "i2") has tax code "99", which is not in the tax master',
    },
    {
      name: "a line in another currency",
      cart: () =>
        cartOf([
          { price: 100n, taxCode: "01" },
          { price: 100n, taxCode: "01", currency: "USD" },
        ]),
      message: 'line 2 is in "USD" but the cart is in JPY',
    },
    {
      name: "a payment in another currency",
      cart: () => {
        const cart = cartOf([{ price: 100n, taxCode: "01" }]);
        cart.payments.push(create(PaymentSchema, { paymentNo: 1, paymentCode: "01", amount: money(100n, "USD") }));
        return cart;
      },
      message: 'payment 1 is in "USD" but the cart is in JPY',
    },
    {
      name: "discounts beyond the gross",
      cart: () => cartOf([{ price: 100n, taxCode: "01", off: 150n }]),
      message: "line 1: discounts of 150 JPY exceed its gross 100 JPY",
    },
    {
      name: "a total past int64",
      cart: () => cartOf([{ price: MAX_AMOUNT, qty: 2, taxCode: "00" }]),
      message: "does not fit in Money (int64 minor units)",
    },
  ])("refuses $name", ({ cart, message }) => {
    expectConnectError(() => computeTotals(cart(), TAXES), Code.InvalidArgument, message);
  });

  it("treats a tax master entry without a type as the server's fault, not the caller's", () => {
    const broken = [tax("01", "broken", TaxType.UNSPECIFIED, 1000, RoundingMethod.DOWN)];
    expect(() => computeTotals(cartOf([{ price: 100n, taxCode: "01" }]), broken)).toThrow(/fix the tax master/);
  });
});
