import { create } from "@bufbuild/protobuf";
import { type LineItem, type TaxLine, TaxLineSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { type Tax, TaxType } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { invalidRequest } from "./errors.js";
import { FULL_PERCENT } from "./line-pricing.js";
import { amountOf, money, roundDiv } from "./money.js";

/**
 * The tax on `target` (the sum of a group's line amounts), rounded once.
 * External tax is added on top: target × rate; internal tax is already inside
 * the price: target × rate / (1 + rate).
 */
export function taxOf(target: bigint, tax: Tax): bigint {
  const rate = BigInt(tax.rateBasisPoints);
  switch (tax.type) {
    case TaxType.EXEMPT:
      return 0n;
    case TaxType.EXTERNAL:
      return roundDiv(target * rate, FULL_PERCENT, tax.rounding);
    case TaxType.INTERNAL:
      return roundDiv(target * rate, FULL_PERCENT + rate, tax.rounding);
    default:
      // A broken tax master is the server's fault, not the caller's: let the edge report it as internal.
      throw new Error(`tax "${tax.taxCode}" has type ${TaxType[tax.type] ?? tax.type}: fix the tax master`);
  }
}

/**
 * One TaxLine per tax code of the live lines, in tax-code order. Rounding per
 * group rather than per line is what the receipt shows and what the law asks.
 */
export function taxLines(lines: readonly LineItem[], taxes: readonly Tax[], currency: string): TaxLine[] {
  const groups = new Map<string, { target: bigint; first: LineItem }>();
  for (const line of lines) {
    if (line.isCancelled) continue;
    const group = groups.get(line.taxCode);
    if (group === undefined) groups.set(line.taxCode, { target: amountOf(line.amount), first: line });
    else group.target += amountOf(line.amount);
  }
  const byCode = new Map(taxes.map((t) => [t.taxCode, t]));
  const byTaxCode = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...groups].sort(byTaxCode).map(([taxCode, { target, first }]) => {
    const tax = byCode.get(taxCode);
    if (tax === undefined) {
      throw invalidRequest(
        "TAX_CODE_UNKNOWN",
        `line ${first.lineNo} (item "${first.itemCode}") has tax code "${taxCode}", which is not in the tax master ` +
          `(known: ${[...byCode.keys()].join(", ") || "none"}): fix the item in master-data`,
      );
    }
    return create(TaxLineSchema, {
      taxCode,
      name: tax.name,
      targetAmount: money(target, currency),
      taxAmount: money(taxOf(target, tax), currency),
      isInternal: tax.type === TaxType.INTERNAL,
    });
  });
}
