import { RoundingMethod } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import { describe, expect, it } from "vitest";
import { formatMoney, roundDiv } from "./money.js";

const HALF_UP = "HALF_UP";
const DOWN = "DOWN";
const UP = "UP";

describe("roundDiv", () => {
  it.each([
    // [numerator, denominator, method, expected]
    [6n, 3n, HALF_UP, 2n],
    [6n, 3n, DOWN, 2n],
    [6n, 3n, UP, 2n],
    [0n, 7n, UP, 0n],
    [5n, 2n, HALF_UP, 3n],
    [5n, 2n, DOWN, 2n],
    [5n, 2n, UP, 3n],
    [7n, 3n, HALF_UP, 2n],
    [8n, 3n, HALF_UP, 3n],
    [7n, 3n, UP, 3n],
    [8n, 3n, DOWN, 2n],
    [-5n, 2n, HALF_UP, -3n],
    [-5n, 2n, DOWN, -2n],
    [-5n, 2n, UP, -3n],
    [-7n, 3n, HALF_UP, -2n],
    [-1n, 3n, DOWN, 0n],
    [5n, -2n, HALF_UP, -3n],
    [-5n, -2n, HALF_UP, 3n],
    [1_000_000n * 1000n, 11_000n, DOWN, 90_909n],
    [10n ** 30n + 1n, 2n, HALF_UP, 5n * 10n ** 29n + 1n],
  ] as const)("%s / %s rounded %s = %s", (n, d, method, expected) => {
    expect(roundDiv(n, d, RoundingMethod[method])).toBe(expected);
  });

  it("refuses a zero denominator and an unspecified method", () => {
    expect(() => roundDiv(1n, 0n, RoundingMethod.HALF_UP)).toThrow(RangeError);
    expect(() => roundDiv(1n, 2n, RoundingMethod.UNSPECIFIED)).toThrow(RangeError);
  });
});

describe("formatMoney", () => {
  it.each([
    [0n, "0 JPY"],
    [999n, "999 JPY"],
    [1000n, "1,000 JPY"],
    [1234n, "1,234 JPY"],
    [1234567n, "1,234,567 JPY"],
    [-1234n, "-1,234 JPY"],
  ])("%s → %s", (amount, expected) => {
    expect(formatMoney(amount, "JPY")).toBe(expected);
  });
});
