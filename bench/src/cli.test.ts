import { describe, expect, it } from "vitest";
import { parseOptions } from "./cli.js";

describe("bench command line", () => {
  it("uses the full run's defaults without flags and the quick run's with --quick", () => {
    expect(parseOptions([])).toMatchObject({ quick: false, levels: [1, 16, 64], durationMs: 5000, out: "latest" });
    expect(parseOptions(["--quick"])).toMatchObject({
      quick: true,
      levels: [8],
      durationMs: 2000,
      out: "latest-quick",
    });
  });

  it("reads every flag, with = or a separate value", () => {
    const o = parseOptions([
      "--levels=1,16",
      "--duration",
      "10",
      "--warmup=3",
      "--terminals=5",
      "--cart-duration=4",
      "--paced-duration=6",
      "--think=10-20",
      "--no-direct",
      "--no-cart",
      "--no-paced",
      "--out=mine",
    ]);
    expect(o).toMatchObject({
      levels: [1, 16],
      durationMs: 10_000,
      warmupMs: 3000,
      terminals: 5,
      cartDurationMs: 4000,
      pacedDurationMs: 6000,
      thinkMs: [10, 20],
      direct: false,
      cart: false,
      paced: false,
      out: "mine",
    });
  });

  it("quick defaults and explicit flags combine in any order", () => {
    expect(parseOptions(["--duration=9", "--quick"])).toMatchObject({ quick: true, durationMs: 9000, levels: [8] });
  });

  it.each([
    [["--bogus"], /Unknown option '--bogus'[\s\S]*usage: pnpm bench/],
    [["extra"], /positional[\s\S]*usage/],
    [["--levels=0,2"], /--levels must be positive integers/],
    [["--duration=1.5"], /--duration must be a whole number/],
    [["--terminals=0"], /--terminals must be ≥ 1/],
    [["--think=30-10"], /--think must be MIN-MAX/],
    [["--out=../x"], /--out must be a plain file name/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(message);
  });
});
