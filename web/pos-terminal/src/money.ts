import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";

const formats = new Map<string, Intl.NumberFormat>();

/** Minor units → "¥1,280" / "$12.80", with the currency's own number of decimals. */
export function formatMoney(money: Money | undefined): string {
  if (money === undefined || money.currencyCode === "") return "";
  let format = formats.get(money.currencyCode);
  if (format === undefined) {
    format = new Intl.NumberFormat(undefined, { style: "currency", currency: money.currencyCode });
    formats.set(money.currencyCode, format);
  }
  const digits = format.resolvedOptions().maximumFractionDigits ?? 0;
  const scale = 10n ** BigInt(digits);
  const sign = money.amount < 0n ? "-" : "";
  const abs = money.amount < 0n ? -money.amount : money.amount;
  // Through a decimal string, so that no amount passes through a float.
  const text =
    digits === 0 ? `${sign}${abs}` : `${sign}${abs / scale}.${(abs % scale).toString().padStart(digits, "0")}`;
  return format.format(text as Intl.StringNumericLiteral);
}

/** Whole major units typed by the cashier → minor units. */
export function parseAmount(text: string, currencyCode: string): bigint | undefined {
  const digits =
    new Intl.NumberFormat(undefined, { style: "currency", currency: currencyCode }).resolvedOptions()
      .maximumFractionDigits ?? 0;
  const m = /^\s*(\d{1,12})(?:\.(\d+))?\s*$/.exec(text);
  if (m === null) return undefined;
  const fraction = (m[2] ?? "").padEnd(digits, "0");
  if (fraction.length > digits) return undefined;
  return BigInt(m[1] ?? "0") * 10n ** BigInt(digits) + BigInt(fraction === "" ? "0" : fraction);
}
