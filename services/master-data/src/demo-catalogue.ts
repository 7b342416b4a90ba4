import { create } from "@bufbuild/protobuf";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import {
  type UpsertItemRequest,
  UpsertItemRequestSchema,
  type UpsertStorePriceRequest,
  UpsertStorePriceRequestSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";

/**
 * The demo catalogue: tenant T0001, store S0001, items ITEM0000-ITEM9999.
 * Deterministic (a seeded generator, no clock), so a test or a benchmark can
 * name an item and know its price on any machine.
 */
export const demo = { tenantId: "T0001", storeCode: "S0001", itemCount: 10_000, currency: "JPY" } as const;

interface Category {
  code: string;
  name: string;
  taxCode: string;
  discountRestricted: boolean;
}

const categories: readonly Category[] = [
  { code: "FOOD", name: "Food", taxCode: "11", discountRestricted: false },
  { code: "DRINK", name: "Drink", taxCode: "11", discountRestricted: false },
  { code: "BAKERY", name: "Bakery", taxCode: "12", discountRestricted: false },
  { code: "DELI", name: "Deli", taxCode: "12", discountRestricted: false },
  { code: "ALCOHOL", name: "Alcohol", taxCode: "01", discountRestricted: true },
  { code: "DAILY", name: "Daily goods", taxCode: "01", discountRestricted: false },
  { code: "COSME", name: "Cosmetics", taxCode: "01", discountRestricted: false },
  { code: "STATIONERY", name: "Stationery", taxCode: "01", discountRestricted: false },
  { code: "MAGAZINE", name: "Magazine", taxCode: "02", discountRestricted: false },
  { code: "GIFTCARD", name: "Gift card", taxCode: "00", discountRestricted: true },
];

const adjectives = ["Fresh", "Classic", "Premium", "Mini", "Family", "Organic", "Spicy", "Light"] as const;

export function demoItemCode(index: number): string {
  return `ITEM${String(index).padStart(4, "0")}`;
}

function pick<T>(list: readonly T[], index: number): T {
  const value = list[index % list.length];
  if (value === undefined) throw new Error("demo catalogue: empty word list");
  return value;
}

export function demoCatalogue(): { items: UpsertItemRequest[]; storePrices: UpsertStorePriceRequest[] } {
  const random = seededRandom(20251017);
  const items: UpsertItemRequest[] = [];
  const storePrices: UpsertStorePriceRequest[] = [];
  for (let i = 0; i < demo.itemCount; i++) {
    const category = pick(categories, i);
    const adjective = pick(adjectives, Math.floor(random() * adjectives.length));
    const yen = 100 + Math.floor(random() * 491) * 10; // 100..5000 in steps of 10
    const itemCode = demoItemCode(i);
    items.push(
      create(UpsertItemRequestSchema, {
        tenantId: demo.tenantId,
        itemCode,
        description: `${adjective} ${category.name} ${String(i).padStart(4, "0")}`,
        descriptionShort: `${category.name} ${i}`,
        categoryCode: category.code,
        taxCode: category.taxCode,
        unitPrice: yenOf(yen),
        barcode: janCode(i),
        isDiscountRestricted: category.discountRestricted || i % 13 === 0,
        imageUrls: i % 4 === 0 ? [`https://images.pos.example/items/${itemCode}.jpg`] : [],
      }),
    );
    if (i % 7 === 3) {
      storePrices.push(
        create(UpsertStorePriceRequestSchema, {
          tenantId: demo.tenantId,
          storeCode: demo.storeCode,
          itemCode,
          price: yenOf(Math.round((yen * 0.9) / 10) * 10),
        }),
      );
    }
  }
  return { items, storePrices };
}

function yenOf(amount: number) {
  return create(MoneySchema, { amount: BigInt(amount), currencyCode: demo.currency });
}

// A valid EAN-13/JAN: prefix 49 (Japan), the index, and the mod-10 check digit.
function janCode(index: number): string {
  const body = `49${String(index).padStart(10, "0")}`;
  const sum = [...body].reduce((acc, d, pos) => acc + Number(d) * (pos % 2 === 0 ? 1 : 3), 0);
  return body + String((10 - (sum % 10)) % 10);
}

/** Small seeded PRNG (mulberry32): deterministic across machines and Node versions. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
