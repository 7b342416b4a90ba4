import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { describe, expect, it } from "vitest";
import { freezeMessage, isFrozenMessage } from "./frozen-messages.js";

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
