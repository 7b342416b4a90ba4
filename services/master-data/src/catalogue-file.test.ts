import { describe, expect, it } from "vitest";
import { parseCatalogue } from "./catalogue-file.js";

const item = (code: string, extra: object = {}) =>
  JSON.stringify({
    item: {
      tenantId: "T1",
      itemCode: code,
      description: `Item ${code}`,
      categoryCode: "FOOD",
      taxCode: "11",
      unitPrice: { amount: "120", currencyCode: "JPY" },
      ...extra,
    },
  });
const price = (code: string) =>
  JSON.stringify({
    storePrice: { tenantId: "T1", storeCode: "S1", itemCode: code, price: { amount: "99", currencyCode: "JPY" } },
  });

describe("catalogue files (import-catalogue)", () => {
  it("reads NDJSON, one record per line, blank lines ignored", () => {
    const parsed = parseCatalogue([item("A"), "", price("A"), item("B")].join("\n"));
    expect(parsed.errors).toEqual([]);
    expect(parsed.items.map((i) => i.itemCode)).toEqual(["A", "B"]);
    expect(parsed.storePrices[0]).toMatchObject({ storeCode: "S1", itemCode: "A", price: { amount: 99n } });
  });

  it("reads one JSON document with records", () => {
    const parsed = parseCatalogue(`{"records": [${item("A")}, ${price("A")}]}`);
    expect(parsed.errors).toEqual([]);
    expect(parsed.items).toHaveLength(1);
    expect(parsed.storePrices).toHaveLength(1);
  });

  it("reports every bad record with its line, using the RPCs' rules", () => {
    const parsed = parseCatalogue(
      [item("A"), "{not json", item("", {}), item("C", { taxCode: "99" }), "{}", price("A")].join("\r\n"),
    );
    expect(parsed.errors).toEqual([
      expect.stringMatching(/^line 2: /),
      "line 3: item_code: is required",
      expect.stringMatching(/^line 4: tax_code: must be a code of the tax master/),
      'line 5: a record needs "item" or "storePrice"',
    ]);
  });
});
