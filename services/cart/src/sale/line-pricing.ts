import { create } from "@bufbuild/protobuf";
import { type Discount, DiscountSchema, DiscountType, type LineItem } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
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
 *
 * Never mutates `line`: it answers the very same object when nothing derived changed (the
 * usual case for all but the line being edited), else a shallow copy sharing the rest, so
 * pricing a cart of hundreds of lines allocates for the changed lines only.
 */
export function priceLine(line: LineItem): LineItem {
  const currency = line.unitPrice?.currencyCode ?? "";
  if (line.isCancelled) {
    // Cancelled lines keep their discounts as a record but count for nothing.
    return sameMoney(line.amount, 0n, currency) ? line : { ...line, amount: money(0n, currency) };
  }
  const gross = grossOf(line);
  let discounted = 0n;
  let discounts = line.discounts;
  for (let i = 0; i < line.discounts.length; i++) {
    const d = line.discounts[i] as Discount;
    const amount = discountAmount(d.type, d.value, gross);
    discounted += amount;
    if (sameMoney(d.amount, amount, currency)) continue;
    if (discounts === line.discounts) discounts = [...line.discounts];
    discounts[i] = create(DiscountSchema, { type: d.type, value: d.value, amount: money(amount, currency) });
  }
  const amount = gross - discounted;
  if (discounts === line.discounts && sameMoney(line.amount, amount, currency)) return line;
  return { ...line, discounts, amount: money(amount, currency) };
}

function sameMoney(m: Money | undefined, amount: bigint, currency: string): boolean {
  return m !== undefined && m.amount === amount && m.currencyCode === currency;
}
