// Shared by the sale tests: a small tax master, item builders and an error matcher.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { type Item, ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { RoundingMethod, type Tax, TaxSchema, TaxType } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { expect } from "vitest";

export const NOW = new Date("2025-03-01T10:00:00Z");
export const LATER = new Date("2025-03-01T10:05:00Z");

export const TAXES: readonly Tax[] = [
  tax("00", "exempt", TaxType.EXEMPT, 0, RoundingMethod.DOWN),
  tax("01", "external 10 % half-up", TaxType.EXTERNAL, 1000, RoundingMethod.HALF_UP),
  tax("02", "internal 10 % down", TaxType.INTERNAL, 1000, RoundingMethod.DOWN),
  tax("03", "internal 10 % up", TaxType.INTERNAL, 1000, RoundingMethod.UP),
  tax("11", "external 8 % down", TaxType.EXTERNAL, 800, RoundingMethod.DOWN),
  tax("13", "external 8 % up", TaxType.EXTERNAL, 800, RoundingMethod.UP),
];

export function tax(
  taxCode: string,
  name: string,
  type: TaxType,
  rateBasisPoints: number,
  rounding: RoundingMethod,
): Tax {
  return create(TaxSchema, { taxCode, name, type, rateBasisPoints, rounding });
}

export function jpy(amount: bigint): Money {
  return create(MoneySchema, { amount, currencyCode: "JPY" });
}

export function item(
  itemCode: string,
  price: bigint | undefined,
  opts: { taxCode?: string; currency?: string; restricted?: boolean } = {},
): Item {
  return create(ItemSchema, {
    tenantId: "t1",
    storeCode: "s1",
    itemCode,
    description: `item ${itemCode}`,
    categoryCode: "c1",
    taxCode: opts.taxCode ?? "01",
    price:
      price === undefined ? undefined : create(MoneySchema, { amount: price, currencyCode: opts.currency ?? "JPY" }),
    isDiscountRestricted: opts.restricted ?? false,
  });
}

/** Runs `fn` and asserts it throws a ConnectError with `code` whose message contains `message`. */
export function expectConnectError(fn: () => unknown, code: Code, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "expected a ConnectError").toBeInstanceOf(ConnectError);
  const err = thrown as ConnectError;
  expect({ code: Code[err.code], message: err.rawMessage }).toEqual({
    code: Code[code],
    message: expect.stringContaining(message),
  });
}
