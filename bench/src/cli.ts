import { parseArgs } from "node:util";

// The bench's command line: flags → one Options value (quick and full runs differ only in defaults).

export interface Options {
  quick: boolean;
  levels: number[];
  warmupMs: number;
  durationMs: number;
  terminals: number;
  itemsPerSale: number;
  cartWarmupMs: number;
  cartDurationMs: number;
  pacedDurationMs: number;
  thinkMs: [number, number];
  direct: boolean;
  cart: boolean;
  paced: boolean;
  out: string;
}

export const usage = `pnpm bench [--quick] [--levels=1,16,64] [--duration=5] [--warmup=2] [--terminals=20]
           [--cart-duration=10] [--paced-duration=30] [--think=500-1500] [--no-direct] [--no-cart] [--no-paced] [--out=NAME]`;

const quickDefaults: Options = {
  quick: true,
  levels: [8],
  warmupMs: 1000,
  durationMs: 2000,
  terminals: 20,
  itemsPerSale: 20,
  cartWarmupMs: 1000,
  cartDurationMs: 3000,
  pacedDurationMs: 3000,
  thinkMs: [20, 80],
  direct: true,
  cart: true,
  paced: true,
  out: "latest-quick",
};

const fullDefaults: Options = {
  quick: false,
  levels: [1, 16, 64],
  warmupMs: 2000,
  durationMs: 5000,
  terminals: 20,
  itemsPerSale: 20,
  cartWarmupMs: 3000,
  cartDurationMs: 10_000,
  pacedDurationMs: 30_000,
  thinkMs: [500, 1500],
  direct: true,
  cart: true,
  paced: true,
  out: "latest",
};

const flags = {
  quick: { type: "boolean" },
  levels: { type: "string" },
  duration: { type: "string" },
  warmup: { type: "string" },
  terminals: { type: "string" },
  "cart-duration": { type: "string" },
  "paced-duration": { type: "string" },
  think: { type: "string" },
  out: { type: "string" },
  // Spelled out rather than parseArgs' allowNegative, which needs Node ≥ 22.4.
  "no-direct": { type: "boolean" },
  "no-cart": { type: "boolean" },
  "no-paced": { type: "boolean" },
} as const;

/** Parses the bench's arguments; throws with the usage on anything unknown or malformed. */
export function parseOptions(argv: string[]): Options {
  let values: ReturnType<typeof parseArgs<{ options: typeof flags; args: string[] }>>["values"];
  try {
    ({ values } = parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\nusage: ${usage}`);
  }
  const o: Options = { ...(values.quick ? quickDefaults : fullDefaults) };
  if (values.levels !== undefined) o.levels = positiveIntegers("--levels", values.levels);
  if (values.duration !== undefined) o.durationMs = seconds("--duration", values.duration);
  if (values.warmup !== undefined) o.warmupMs = seconds("--warmup", values.warmup);
  if (values.terminals !== undefined) {
    o.terminals = Number(values.terminals);
    if (!Number.isInteger(o.terminals) || o.terminals < 1)
      throw new Error(`--terminals must be ≥ 1, got "${values.terminals}"`);
  }
  if (values["cart-duration"] !== undefined) o.cartDurationMs = seconds("--cart-duration", values["cart-duration"]);
  if (values["paced-duration"] !== undefined) o.pacedDurationMs = seconds("--paced-duration", values["paced-duration"]);
  if (values.think !== undefined) o.thinkMs = thinkRange(values.think);
  if (values["no-direct"]) o.direct = false;
  if (values["no-cart"]) o.cart = false;
  if (values["no-paced"]) o.paced = false;
  if (values.out !== undefined) {
    if (!/^[A-Za-z0-9._-]+$/.test(values.out)) throw new Error(`--out must be a plain file name, got "${values.out}"`);
    o.out = values.out;
  }
  return o;
}

function seconds(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of seconds ≥ 1, got "${v}"`);
  return n * 1000;
}

function positiveIntegers(name: string, v: string): number[] {
  const levels = v.split(",").map(Number);
  if (levels.some((l) => !Number.isInteger(l) || l < 1))
    throw new Error(`${name} must be positive integers, got "${v}"`);
  return levels;
}

function thinkRange(v: string): [number, number] {
  const [min, max] = v.split("-").map(Number);
  if (min === undefined || max === undefined || !(min >= 0 && max >= min))
    throw new Error(`--think must be MIN-MAX ms, got "${v}"`);
  return [min, max];
}

/** The command line as a reader of the report would retype it. */
export function commandLine(argv: string[]): string {
  const args = argv.join(" ");
  return process.env.npm_lifecycle_event === "bench"
    ? `pnpm bench${args ? ` ${args}` : ""}`
    : `node --import tsx bench/src/main.ts${args ? ` ${args}` : ""}`;
}
