import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Cart,
  CartSchema,
  CartStatus,
  DiscountSchema,
  DiscountType,
  type LineItem,
  LineItemSchema,
  PaymentSchema,
  TaxLineSchema,
} from "@pos/gen/pos/cart/v1/cart_pb.js";
import { type Money, MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import type { CartKey } from "./cart-store.js";

/** Above 2^53: a store that passes amounts through a JS number loses the last digit. */
export const bigAmount = 9007199254740993n;

export function yen(amount: bigint): Money {
  return create(MoneySchema, { amount, currencyCode: "JPY" });
}

export function line(lineNo: number, itemCode = `ITEM${lineNo}`, amount = 100n): LineItem {
  return create(LineItemSchema, {
    lineNo,
    itemCode,
    description: `Item ${itemCode}`,
    categoryCode: "FOOD",
    taxCode: "STANDARD",
    unitPrice: yen(amount),
    quantity: 1,
    amount: yen(amount),
  });
}

/** A cart with every kind of field set, for round-trip tests (data shaped for that, not a consistent sale). */
export function richCart(key: CartKey): Cart {
  return create(CartSchema, {
    ...key,
    terminalId: "T01",
    staffId: "STAFF-7",
    status: CartStatus.PAYING,
    lines: [
      create(LineItemSchema, {
        lineNo: 1,
        itemCode: "4901234567894",
        description: "Green tea 500ml ペットボトル",
        categoryCode: "DRINK",
        taxCode: "REDUCED",
        unitPrice: yen(bigAmount),
        unitPriceOverridden: true,
        quantity: 3,
        discounts: [
          create(DiscountSchema, { type: DiscountType.AMOUNT, value: 10n, amount: yen(10n) }),
          create(DiscountSchema, { type: DiscountType.PERCENT, value: 1000n, amount: yen(5n) }),
        ],
        amount: yen(bigAmount * 3n - 15n),
        isDiscountRestricted: true,
      }),
      create(LineItemSchema, { ...line(2), isCancelled: true, amount: yen(0n) }),
    ],
    taxes: [
      create(TaxLineSchema, {
        taxCode: "REDUCED",
        name: "Reduced 8%",
        targetAmount: yen(bigAmount),
        taxAmount: yen(720n),
        isInternal: true,
      }),
    ],
    payments: [
      create(PaymentSchema, { paymentNo: 1, paymentCode: "CASH", amount: yen(bigAmount) }),
      create(PaymentSchema, { paymentNo: 2, paymentCode: "CARD", amount: yen(-1n) }),
    ],
    totalAmount: yen(bigAmount * 3n),
    totalAmountWithTax: yen(bigAmount * 3n + 1n),
    taxAmount: yen(720n),
    paidAmount: yen(bigAmount),
    balanceAmount: yen(0n),
    changeAmount: yen(7n),
    createdAt: timestampFromMs(1_700_000_000_123),
    updatedAt: create(TimestampSchema, { seconds: 1_700_000_100n, nanos: 123_456_789 }),
    transactionNo: "",
  });
}
