import { quote } from "@pos/common";
import { DiscountType } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import { invalidArgument } from "./errors.js";
import { FULL_PERCENT } from "./line-pricing.js";
import { describePaymentCodes, findPaymentMethod, type PaymentMethod } from "./payments.js";

// Checks that need neither the cart nor master-data, so the service can refuse bad input before any I/O.

export const MAX_QUANTITY = 9999;
export const MAX_LINES_PER_CALL = 100;
export const MAX_PAYMENTS_PER_CALL = 20;
const currencyPattern = /^[A-Z]{3}$/;

/** What checkLineInputs looks at; the generated LineItemInput fits, so requests can be passed as they come. */
export interface LineInputShape {
  readonly quantity: number;
  readonly unitPriceOverride?: Money | undefined;
}

/** What checkPaymentInputs looks at; the generated PaymentInput fits. */
export interface PaymentInputShape {
  readonly paymentCode: string;
  readonly amount?: Money | undefined;
}

/** `field` is the quantity's path in the request (`items[2].quantity`); `where` prefixes the message. */
export function checkQuantity(quantity: number, field: string, where = ""): void {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    throw invalidArgument(field, `${where}quantity must be 1..${MAX_QUANTITY}, got ${quantity}`);
  }
}

export function checkLineInputs(inputs: readonly LineInputShape[]): void {
  if (inputs.length < 1 || inputs.length > MAX_LINES_PER_CALL) {
    throw invalidArgument("items", `add 1..${MAX_LINES_PER_CALL} lines per call, got ${inputs.length}`);
  }
  inputs.forEach((input, i) => {
    const where = `entry ${i + 1}: `;
    const field = `items[${i}]`;
    checkQuantity(input.quantity, `${field}.quantity`, where);
    const override = input.unitPriceOverride;
    if (override === undefined) return;
    if (override.amount < 0n) {
      throw invalidArgument(
        `${field}.unit_price_override.amount`,
        `${where}unit_price_override must be >= 0, got ${override.amount}`,
      );
    }
    if (!currencyPattern.test(override.currencyCode)) {
      throw invalidArgument(
        `${field}.unit_price_override.currency_code`,
        `${where}unit_price_override needs a currency_code such as "JPY", got ${quote(override.currencyCode)}`,
      );
    }
  });
}

export function checkDiscount(type: DiscountType, value: bigint): void {
  switch (type) {
    case DiscountType.AMOUNT:
      if (value <= 0n) throw invalidArgument("value", `AMOUNT discount must be > 0 minor units, got ${value}`);
      return;
    case DiscountType.PERCENT:
      if (value < 1n || value > FULL_PERCENT) {
        throw invalidArgument(
          "value",
          `PERCENT discount must be 1..${FULL_PERCENT} basis points (1000 = 10 %), got ${value}`,
        );
      }
      return;
    default:
      throw invalidArgument("type", `discount type must be AMOUNT or PERCENT, got ${DiscountType[type] ?? type}`);
  }
}

export function checkPaymentInputs(inputs: readonly PaymentInputShape[]): void {
  if (inputs.length < 1 || inputs.length > MAX_PAYMENTS_PER_CALL) {
    throw invalidArgument("payments", `add 1..${MAX_PAYMENTS_PER_CALL} payments per call, got ${inputs.length}`);
  }
  for (const [i, input] of inputs.entries()) checkPaymentInput(input, `payment entry ${i + 1}: `, `payments[${i}]`);
}

/**
 * The payment method and amount of one payment entry, or INVALID_ARGUMENT prefixed by `where`,
 * naming the field under `field` (the entry's path, `payments[0]`).
 */
export function checkPaymentInput(
  input: PaymentInputShape,
  where: string,
  field: string,
): { method: PaymentMethod; amount: Money } {
  const method = findPaymentMethod(input.paymentCode);
  if (method === undefined) {
    throw invalidArgument(
      `${field}.payment_code`,
      `${where}payment code ${quote(input.paymentCode)} is unknown: use one of ${describePaymentCodes()}`,
    );
  }
  const amount = input.amount;
  if (amount === undefined || amount.amount <= 0n) {
    throw invalidArgument(`${field}.amount`, `${where}amount must be > 0, got ${amount?.amount ?? "none"}`);
  }
  return { method, amount };
}
