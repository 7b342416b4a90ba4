import { create } from "@bufbuild/protobuf";
import { RoundingMethod, type Tax, TaxSchema, TaxType } from "@pos/gen/pos/masterdata/v1/tax_pb.js";

/**
 * The tax master every tenant shares (Japanese consumption tax: standard 10 %,
 * reduced 8 % for food; external = added on top, internal = contained).
 * It is code, not data, because it changes with the law, not with the shop;
 * a tenant-specific master would move it into the store.
 */
const taxes: readonly Tax[] = [
  tax("00", "非課税 (exempt)", TaxType.EXEMPT, 0, RoundingMethod.DOWN),
  tax("01", "外税10% (external 10 %)", TaxType.EXTERNAL, 1000, RoundingMethod.HALF_UP),
  tax("02", "内税10% (internal 10 %)", TaxType.INTERNAL, 1000, RoundingMethod.DOWN),
  tax("11", "外税8% 軽減 (external 8 %, reduced)", TaxType.EXTERNAL, 800, RoundingMethod.DOWN),
  tax("12", "内税8% 軽減 (internal 8 %, reduced)", TaxType.INTERNAL, 800, RoundingMethod.UP),
];

export function listTaxes(): Tax[] {
  return taxes.map((t) => create(TaxSchema, t));
}

export const taxCodes: readonly string[] = taxes.map((t) => t.taxCode);

function tax(taxCode: string, name: string, type: TaxType, rateBasisPoints: number, rounding: RoundingMethod): Tax {
  return create(TaxSchema, { taxCode, name, type, rateBasisPoints, rounding });
}
