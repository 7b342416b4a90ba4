import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import { CartSchema, type LineItem, LineItemSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { AddLineItemsResponseSchema } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { describe, expect, it } from "vitest";
import { freezeMessage, isFrozenMessage, toBinaryReusing } from "./frozen-messages.js";

describe("freezeMessage", () => {
  it("freezes a message and everything under it, and records it as immutable", () => {
    const item = create(ItemSchema, {
      itemCode: "A1",
      unitPrice: create(MoneySchema, { amount: 100n, currencyCode: "JPY" }),
      imageUrls: ["https://img.example/a.png"],
      createdAt: timestampFromDate(new Date(0)),
    });
    expect(isFrozenMessage(item)).toBe(false);
    expect(freezeMessage(item)).toBe(item);
    expect(isFrozenMessage(item)).toBe(true);
    expect(Object.isFrozen(item.unitPrice)).toBe(true);
    expect(() => {
      item.itemCode = "B";
    }).toThrow(TypeError);
    expect(() => item.imageUrls.push("x")).toThrow(TypeError);
    expect(() => {
      if (item.createdAt) item.createdAt.seconds = 1n;
    }).toThrow(TypeError);
  });

  it("shares frozen parts: a message built from them is recorded once it is frozen itself", () => {
    const price = freezeMessage(create(MoneySchema, { amount: 1n, currencyCode: "JPY" }));
    const item = create(ItemSchema, { itemCode: "A1", unitPrice: price, price });
    expect(isFrozenMessage(item)).toBe(false);
    freezeMessage(item);
    expect(isFrozenMessage(item)).toBe(true);
  });

  it("does not record what it cannot freeze whole: bytes stay writable, so such a message is not immutable", () => {
    const holder = { $typeName: "test.Bytes", data: new Uint8Array([1, 2, 3]), name: "x" };
    freezeMessage(holder);
    expect(Object.isFrozen(holder)).toBe(true);
    expect(isFrozenMessage(holder)).toBe(false);
    const outer = freezeMessage({ inner: holder });
    expect(isFrozenMessage(outer)).toBe(false);
  });

  it("does not trust Object.freeze alone: a shallow-frozen message is not recorded", () => {
    const item = Object.freeze(create(ItemSchema, { itemCode: "A1", imageUrls: ["a"] }));
    expect(isFrozenMessage(item)).toBe(false);
  });
});

describe("toBinaryReusing", () => {
  const money = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });
  const line = (n: number) =>
    create(LineItemSchema, {
      lineNo: n,
      itemCode: `ITEM${n}`,
      description: `item ${n}`,
      taxCode: "01",
      unitPrice: money(BigInt(100 + n)),
      quantity: 1,
      amount: money(BigInt(100 + n)),
      discounts: [{ value: 5n, amount: money(5n) }],
    });
  const cartOf = (lines: LineItem[]) =>
    create(CartSchema, {
      cartId: "c1",
      tenantId: "T0001",
      lines,
      taxes: [{ taxCode: "01", name: "10%", targetAmount: money(100n), taxAmount: money(10n) }],
      payments: [{ paymentNo: 1, paymentCode: "01", amount: money(110n) }],
      totalAmount: money(100n),
      createdAt: timestampFromDate(new Date(0)),
      transactionNo: "7",
    });
  const frozenCart = (lines: LineItem[]) => {
    const cart = cartOf(lines);
    for (const l of cart.lines) freezeMessage(l);
    return freezeMessage(cart);
  };

  it("encodes a message without frozen parts, or with only short frozen lists, exactly as toBinary does", () => {
    const short = frozenCart([line(1), line(2)]);
    expect(toBinaryReusing(CartSchema, short)).toEqual(toBinary(CartSchema, short));
    const cart = cartOf([line(1), line(2)]);
    expect(toBinaryReusing(CartSchema, cart)).toEqual(toBinary(CartSchema, cart));
  });

  it("encodes a frozen cart and a fresh response holding it so that they decode to the same messages", () => {
    const cart = frozenCart(Array.from({ length: 50 }, (_, i) => line(i + 1)));
    const again = fromBinary(CartSchema, toBinaryReusing(CartSchema, cart));
    expect(equals(CartSchema, again, cart)).toBe(true);
    expect(again.lines.map((l) => l.lineNo)).toEqual(cart.lines.map((l) => l.lineNo));
    const response = create(AddLineItemsResponseSchema, { cart });
    const decoded = fromBinary(AddLineItemsResponseSchema, toBinaryReusing(AddLineItemsResponseSchema, response));
    expect(equals(AddLineItemsResponseSchema, decoded, response)).toBe(true);
  });

  it("reuses a frozen message's bytes, and a new version of a cart shares its unchanged lines' bytes", () => {
    const lines = Array.from({ length: 20 }, (_, i) => line(i + 1));
    const first = frozenCart(lines);
    const bytes = toBinaryReusing(CartSchema, first);
    expect(toBinaryReusing(CartSchema, first)).toBe(bytes);
    // The next version: the same line objects plus one, in a new (also frozen) cart.
    const next = frozenCart([...first.lines, line(21)]);
    const decoded = fromBinary(CartSchema, toBinaryReusing(CartSchema, next));
    expect(decoded.lines.map((l) => l.itemCode)).toEqual([...lines.map((l) => l.itemCode), "ITEM21"]);
    expect(equals(CartSchema, decoded, next)).toBe(true);
  });

  it("keeps unknown fields and leaves oneof message fields to toBinary", () => {
    const withUnknown = cartOf(Array.from({ length: 20 }, (_, i) => freezeMessage(line(i + 1))));
    withUnknown.$unknown = [{ no: 999, wireType: 0, data: new Uint8Array([42]) }];
    Object.freeze(withUnknown.lines);
    const decoded = fromBinary(CartSchema, toBinaryReusing(CartSchema, withUnknown));
    expect(decoded.$unknown).toEqual(withUnknown.$unknown);
    const value = freezeMessage(
      create(ValueSchema, {
        kind: { case: "listValue", value: { values: [{ kind: { case: "numberValue", value: 1 } }] } },
      }),
    );
    expect(toBinaryReusing(ValueSchema, value)).toEqual(toBinary(ValueSchema, value));
  });
});
