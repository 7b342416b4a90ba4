import { create } from "@bufbuild/protobuf";
import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { RoundingMethod } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { invalidRequest } from "./errors.js";

/** The currency of a cart that has no lines yet. */
export const DEFAULT_CURRENCY = "JPY";

/** Money is an int64 on the wire; anything larger cannot be stored or sent. */
export const MAX_AMOUNT = (1n << 63n) - 1n;
const MIN_AMOUNT = -(1n << 63n);

export function money(amount: bigint, currencyCode: string): Money {
  // create() would throw a bare field-validation error; a huge price × quantity is the caller's input, so say so.
  if (amount > MAX_AMOUNT || amount < MIN_AMOUNT) {
    throw invalidRequest(
      "AMOUNT_OVERFLOW",
      `amount ${formatMoney(amount, currencyCode)} does not fit in Money (int64 minor units)`,
    );
  }
  return create(MoneySchema, { amount, currencyCode });
}

/** Amount of an optional Money field; proto3 leaves absent messages undefined. */
export function amountOf(m: Money | undefined): bigint {
  return m?.amount ?? 0n;
}

/** "1,234 JPY" - minor units with thousands separators, for error messages. */
export function formatMoney(amount: bigint, currencyCode: string): string {
  const digits = (amount < 0n ? -amount : amount).toString();
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${amount < 0n ? "-" : ""}${grouped} ${currencyCode}`;
}

/**
 * numerator / denominator rounded to an integer by `method`, exactly (no floats):
 * HALF_UP = half away from zero, DOWN = toward zero, UP = away from zero.
 */
export function roundDiv(numerator: bigint, denominator: bigint, method: RoundingMethod): bigint {
  if (denominator === 0n) throw new RangeError("roundDiv: denominator is 0");
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = n / d;
  const remainder = n % d;
  let magnitude: bigint;
  switch (method) {
    case RoundingMethod.DOWN:
      magnitude = quotient;
      break;
    case RoundingMethod.UP:
      magnitude = remainder === 0n ? quotient : quotient + 1n;
      break;
    case RoundingMethod.HALF_UP:
      magnitude = 2n * remainder >= d ? quotient + 1n : quotient;
      break;
    default:
      throw new RangeError(`roundDiv: rounding method ${RoundingMethod[method] ?? method} is not HALF_UP, DOWN or UP`);
  }
  return negative ? -magnitude : magnitude;
}
