/**
 * The money rules of a sale. Every amount is an integer count of minor units
 * (bigint); nothing goes through floating point.
 *
 * - Currency: a cart's currency is that of its first line (DEFAULT_CURRENCY while
 *   it has none); lines and payments in another currency are refused.
 * - Line: unit_price = the override when given, else master-data's price;
 *   gross = unit_price × quantity. A discount is AMOUNT (value in minor units, > 0)
 *   or PERCENT (value in basis points 1..10000 of the gross, floored). Each
 *   Discount carries its computed amount; amount = gross − Σ discounts, never
 *   negative. A quantity change recomputes PERCENT discounts from the new gross
 *   and keeps AMOUNT ones. A cancelled line keeps its line_no and counts as 0.
 * - Tax, per tax code of the live lines, rounded ONCE per group (not per line):
 *   target = Σ line amounts; EXTERNAL tax = target × rate / 10000; INTERNAL
 *   (contained in the price) = target × rate / (10000 + rate); EXEMPT = 0; each
 *   rounded by the tax's method (HALF_UP, DOWN, UP). TaxLines in tax-code order.
 * - Totals: total_amount = Σ live line amounts; tax_amount = Σ all group taxes;
 *   total_amount_with_tax = total_amount + Σ external taxes (internal ones are
 *   already in the prices); paid_amount = Σ payments;
 *   balance_amount = max(0, total_with_tax − paid); change_amount = max(0, paid − total_with_tax).
 * - Payments (payments.ts): only cash may exceed the remaining balance (the excess is change).
 * - Limits (inputs.ts, sale.ts) and which operation each status allows (cart-state.ts) live beside their code.
 */
import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Tax } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { invalidRequest } from "./errors.js";
import { grossOf, priceLine } from "./line-pricing.js";
import { amountOf, DEFAULT_CURRENCY, formatMoney, money } from "./money.js";
import { taxLines } from "./tax.js";

export function cartCurrency(cart: Pick<Cart, "lines">): string {
  return cart.lines[0]?.unitPrice?.currencyCode ?? DEFAULT_CURRENCY;
}

/**
 * The cart with every derived field (line amounts, discounts, taxes, totals) recomputed from its
 * inputs. Like every function of the sale domain it never mutates its argument: the result is a
 * shallow copy sharing whatever did not change (lines, money), so a long cart costs pointer
 * copies and integer sums, not a deep copy per call.
 */
export function computeTotals(cart: Cart, taxes: readonly Tax[]): Cart {
  const next = { ...cart };
  const currency = cartCurrency(next);
  next.lines = cart.lines.map(priceLine);
  for (const line of next.lines) {
    const lineCurrency = line.unitPrice?.currencyCode ?? "";
    if (lineCurrency !== currency) {
      throw invalidRequest(
        "CURRENCY_MISMATCH",
        `line ${line.lineNo} is in "${lineCurrency}" but the cart is in ${currency}`,
      );
    }
    const amount = amountOf(line.amount);
    if (amount < 0n) {
      const gross = grossOf(line);
      throw invalidRequest(
        "LINE_NEGATIVE",
        `line ${line.lineNo}: discounts of ${formatMoney(gross - amount, currency)} exceed its gross ${formatMoney(gross, currency)}`,
      );
    }
  }
  next.taxes = taxLines(next.lines, taxes, currency);
  const total = next.lines.reduce((sum, l) => sum + amountOf(l.amount), 0n);
  const allTax = next.taxes.reduce((sum, t) => sum + amountOf(t.taxAmount), 0n);
  const externalTax = next.taxes.filter((t) => !t.isInternal).reduce((sum, t) => sum + amountOf(t.taxAmount), 0n);
  next.totalAmount = money(total, currency);
  next.taxAmount = money(allTax, currency);
  next.totalAmountWithTax = money(total + externalTax, currency);
  return settle(next);
}

/**
 * The cart with paid, balance and change recomputed from its payments against
 * the total_amount_with_tax it already carries (payments do not change taxes).
 */
export function settle(cart: Cart): Cart {
  const next = { ...cart };
  const currency = cartCurrency(next);
  for (const p of next.payments) {
    const paymentCurrency = p.amount?.currencyCode ?? "";
    if (paymentCurrency !== currency) {
      throw invalidRequest(
        "CURRENCY_MISMATCH",
        `payment ${p.paymentNo} is in "${paymentCurrency}" but the cart is in ${currency}`,
      );
    }
  }
  const due = amountOf(next.totalAmountWithTax);
  const paid = next.payments.reduce((sum, p) => sum + amountOf(p.amount), 0n);
  next.totalAmountWithTax = money(due, currency);
  next.paidAmount = money(paid, currency);
  next.balanceAmount = money(due > paid ? due - paid : 0n, currency);
  next.changeAmount = money(paid > due ? paid - due : 0n, currency);
  return next;
}
