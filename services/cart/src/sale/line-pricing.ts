import { clone, create } from "@bufbuild/protobuf";
import { DiscountSchema, DiscountType, type LineItem, LineItemSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { RoundingMethod } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { amountOf, money, roundDiv } from "./money.js";

/** Basis points in 100 %. */
export const FULL_PERCENT = 10_000n;

/** unit_price × quantity: the amount percent discounts apply to. */
export function grossOf(line: LineItem): bigint {
  return amountOf(line.unitPrice) * BigInt(line.quantity);
}

/** What one discount takes off a line. Percent amounts are floored so the customer never gets more than the stated rate. */
export function discountAmount(type: DiscountType, value: bigint, gross: bigint): bigint {
  switch (type) {
    case DiscountType.AMOUNT:
      return value;
    case DiscountType.PERCENT:
      return roundDiv(gross * value, FULL_PERCENT, RoundingMethod.DOWN);
    default:
      throw new Error(`discount type ${DiscountType[type] ?? type} has no amount`);
  }
}

/**
 * The line with its discount amounts and amount derived from price, quantity and
 * discounts. The amount may come out negative: each caller refuses that with a
 * message about its own input (a discount, a quantity), so this does not throw.
 */
export function priceLine(line: LineItem): LineItem {
  const next = clone(LineItemSchema, line);
  const currency = line.unitPrice?.currencyCode ?? "";
  if (next.isCancelled) {
    // Cancelled lines keep their discounts as a record but count for nothing.
    next.amount = money(0n, currency);
    return next;
  }
  const gross = grossOf(next);
  next.discounts = next.discounts.map((d) =>
    create(DiscountSchema, {
      type: d.type,
      value: d.value,
      amount: money(discountAmount(d.type, d.value, gross), currency),
    }),
  );
  const discounted = next.discounts.reduce((sum, d) => sum + amountOf(d.amount), 0n);
  next.amount = money(gross - discounted, currency);
  return next;
}
