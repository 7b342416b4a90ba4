import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { quote } from "@pos/common";
import {
  type Cart,
  CartSchema,
  CartStatus,
  DiscountSchema,
  type DiscountType,
  type LineItem,
  LineItemSchema,
  PaymentSchema,
} from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import type { Tax } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { transition } from "./cart-state.js";
import { failedPrecondition, invalidArgument } from "./errors.js";
import {
  checkDiscount,
  checkLineInputs,
  checkPaymentInput,
  checkPaymentInputs,
  checkQuantity,
  type PaymentInputShape,
} from "./inputs.js";
import { discountAmount, grossOf, priceLine } from "./line-pricing.js";
import { amountOf, formatMoney, money } from "./money.js";
import { cartCurrency, computeTotals, settle } from "./totals.js";

export type { SaleOp } from "./cart-state.js";
export { checkLineInputs, checkPaymentInputs } from "./inputs.js";

export const MAX_LINES_PER_CART = 500;

/** One line to add: the item as master-data answered it, plus the caller's quantity and optional price. */
export interface LineInput {
  readonly item: Item;
  readonly quantity: number;
  readonly unitPriceOverride?: Money | undefined;
}

/** Bill and cancel say whether the cart was already there, so the caller writes the transaction log once. */
export interface Outcome {
  readonly cart: Cart;
  readonly already: boolean;
}

export type CartIds = Pick<Cart, "cartId" | "tenantId" | "storeCode" | "terminalId" | "staffId">;

export function newCart(ids: CartIds, now: Date): Cart {
  const { cartId, tenantId, storeCode, terminalId, staffId } = ids;
  const at = timestampFromDate(now);
  const cart = create(CartSchema, {
    cartId,
    tenantId,
    storeCode,
    terminalId,
    staffId,
    status: CartStatus.IDLE,
    createdAt: at,
    updatedAt: at,
  });
  // Zero totals in the default currency, so clients never see absent money fields.
  return computeTotals(cart, []);
}

export function addLines(cart: Cart, lines: readonly LineInput[], taxes: readonly Tax[], now: Date): Cart {
  checkLineInputs(lines);
  const { status } = transition(cart, "addLines");
  if (cart.lines.length + lines.length > MAX_LINES_PER_CART) {
    throw failedPrecondition(
      "CART_FULL",
      `cart has ${cart.lines.length} lines and holds at most ${MAX_LINES_PER_CART}: ${lines.length} more do not fit; start a new cart`,
    );
  }
  const next = { ...cart, lines: [...cart.lines] };
  let currency = cart.lines.length > 0 ? cartCurrency(cart) : undefined;
  lines.forEach((input, i) => {
    const line = newLine(input, cart.lines.length + i + 1, `items[${i}]`);
    const lineCurrency = line.unitPrice?.currencyCode ?? "";
    currency ??= lineCurrency;
    if (lineCurrency !== currency) {
      throw invalidArgument(
        `items[${i}].item_code`,
        `entry ${i + 1}: item "${input.item.itemCode}" is priced in ${lineCurrency} but the cart is in ${currency}`,
      );
    }
    next.lines.push(line);
  });
  return changed(next, status, taxes, now);
}

export function updateQuantity(cart: Cart, lineNo: number, quantity: number, taxes: readonly Tax[], now: Date): Cart {
  checkQuantity(quantity, "quantity");
  const { status } = transition(cart, "updateQuantity");
  const line = { ...liveLine(cart, lineNo, "cancelled: add the item again instead"), quantity };
  const next = withLine(cart, line);
  const priced = priceLine(line);
  if (amountOf(priced.amount) < 0n) {
    const currency = cartCurrency(next);
    const gross = grossOf(priced);
    throw invalidArgument(
      "quantity",
      `quantity ${quantity} would make line ${lineNo} negative: its discounts of ${formatMoney(gross - amountOf(priced.amount), currency)} ` +
        `exceed the new gross ${formatMoney(gross, currency)}; cancel the line instead`,
    );
  }
  return changed(next, status, taxes, now);
}

export function cancelLine(cart: Cart, lineNo: number, taxes: readonly Tax[], now: Date): Cart {
  const { status } = transition(cart, "cancelLine");
  const next = withLine(cart, { ...liveLine(cart, lineNo, "already cancelled"), isCancelled: true });
  return changed(next, status, taxes, now);
}

export function addDiscount(
  cart: Cart,
  lineNo: number,
  type: DiscountType,
  value: bigint,
  taxes: readonly Tax[],
  now: Date,
): Cart {
  checkDiscount(type, value);
  const { status } = transition(cart, "addDiscount");
  const line = liveLine(cart, lineNo, "cancelled: it takes no discounts");
  if (line.isDiscountRestricted) {
    throw failedPrecondition(
      "DISCOUNT_RESTRICTED",
      `line ${lineNo} (item "${line.itemCode}") is discount-restricted: it takes no discounts`,
    );
  }
  const priced = priceLine(line);
  const amount = discountAmount(type, value, grossOf(priced));
  const remaining = amountOf(priced.amount);
  if (amount > remaining) {
    const currency = cartCurrency(cart);
    throw invalidArgument(
      "value",
      `discount of ${formatMoney(amount, currency)} exceeds the line's remaining ${formatMoney(remaining, currency)}`,
    );
  }
  const discounts = [...line.discounts, create(DiscountSchema, { type, value })];
  return changed(withLine(cart, { ...line, discounts }), status, taxes, now);
}

export function subtotal(cart: Cart, taxes: readonly Tax[], now: Date): Cart {
  const { status } = transition(cart, "subtotal");
  if (!cart.lines.some((l) => !l.isCancelled)) {
    throw failedPrecondition("NO_LIVE_LINES", "cart has no live lines: add items before Subtotal");
  }
  return changed({ ...cart }, status, taxes, now);
}

export function addPayments(cart: Cart, payments: readonly PaymentInputShape[], now: Date): Cart {
  checkPaymentInputs(payments);
  const { status } = transition(cart, "addPayments");
  const currency = cartCurrency(cart);
  let remaining = amountOf(cart.balanceAmount);
  if (remaining === 0n) throw failedPrecondition("BALANCE_SETTLED", "balance is 0: call Bill");
  const next = { ...cart, payments: [...cart.payments] };
  payments.forEach((input, i) => {
    const where = `payment entry ${i + 1}: `;
    const field = `payments[${i}]`;
    const { method, amount } = checkPaymentInput(input, where, field);
    if (amount.currencyCode !== currency) {
      throw invalidArgument(
        `${field}.amount.currency_code`,
        `${where}amount is in ${quote(amount.currencyCode)} but the cart is in ${currency}`,
      );
    }
    if (remaining === 0n) throw invalidArgument(field, `${where}the entries before it already cover the balance`);
    if (!method.mayExceedBalance && amount.amount > remaining) {
      throw invalidArgument(
        `${field}.amount`,
        `${where}${method.name} payment of ${formatMoney(amount.amount, currency)} exceeds the remaining balance ` +
          `${formatMoney(remaining, currency)}; only cash may exceed it`,
      );
    }
    remaining = amount.amount >= remaining ? 0n : remaining - amount.amount;
    next.payments.push(
      create(PaymentSchema, {
        paymentNo: cart.payments.length + i + 1,
        paymentCode: method.code,
        amount: money(amount.amount, amount.currencyCode),
      }),
    );
  });
  next.status = status;
  next.updatedAt = timestampFromDate(now);
  return settle(next);
}

export function bill(cart: Cart, now: Date): Outcome {
  const { status, already } = transition(cart, "bill");
  if (already) return { cart, already };
  const balance = amountOf(cart.balanceAmount);
  if (balance > 0n) {
    throw failedPrecondition(
      "BALANCE_DUE",
      `balance ${formatMoney(balance, cartCurrency(cart))} remains: add payments before Bill`,
    );
  }
  return { cart: closed(cart, status, now), already };
}

export function cancel(cart: Cart, now: Date): Outcome {
  const { status, already } = transition(cart, "cancel");
  if (already) return { cart, already };
  return { cart: closed(cart, status, now), already };
}

function newLine(input: LineInput, lineNo: number, field: string): LineItem {
  const { item, quantity, unitPriceOverride } = input;
  const price = unitPriceOverride ?? item.price;
  if (price === undefined) {
    throw failedPrecondition(
      "ITEM_HAS_NO_PRICE",
      `item "${item.itemCode}" has no price in store ${item.storeCode}: give a unit_price_override`,
    );
  }
  if (
    unitPriceOverride !== undefined &&
    item.price !== undefined &&
    unitPriceOverride.currencyCode !== item.price.currencyCode
  ) {
    throw invalidArgument(
      `${field}.unit_price_override.currency_code`,
      `unit_price_override of item "${item.itemCode}" is in ${unitPriceOverride.currencyCode} but its price is in ${item.price.currencyCode}`,
    );
  }
  return create(LineItemSchema, {
    lineNo,
    itemCode: item.itemCode,
    description: item.description,
    categoryCode: item.categoryCode,
    taxCode: item.taxCode,
    unitPrice: money(price.amount, price.currencyCode),
    unitPriceOverridden: unitPriceOverride !== undefined,
    quantity,
    isDiscountRestricted: item.isDiscountRestricted,
  });
}

/** The live line `lineNo` of `cart` (shared: copy it to change it); `ifCancelled` ends the message for a cancelled one. */
function liveLine(cart: Cart, lineNo: number, ifCancelled: string): LineItem {
  const line = cart.lines.find((l) => l.lineNo === lineNo);
  if (line === undefined) {
    throw invalidArgument("line_no", `line ${lineNo} does not exist (cart has ${cart.lines.length} lines)`);
  }
  if (line.isCancelled) throw failedPrecondition("LINE_CANCELLED", `line ${lineNo} is ${ifCancelled}`);
  return line;
}

function changed(next: Cart, status: CartStatus, taxes: readonly Tax[], now: Date): Cart {
  next.status = status;
  next.updatedAt = timestampFromDate(now);
  return computeTotals(next, taxes);
}

function closed(cart: Cart, status: CartStatus, now: Date): Cart {
  return { ...cart, status, updatedAt: timestampFromDate(now) };
}

/** A shallow copy of `cart` with `line` in place of the line of the same number. */
function withLine(cart: Cart, line: LineItem): Cart {
  return { ...cart, lines: cart.lines.map((l) => (l.lineNo === line.lineNo ? line : l)) };
}
