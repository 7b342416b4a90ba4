import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Cart,
  type Dependency,
  errorsByCode,
  type FaultRow,
  type MasterData,
  median,
  printTable,
  startCartProcess,
  startLoad,
  startMasterData,
  startMongo,
  startRedis,
  verify,
} from "./fault-harness.js";

// The fault suite (issue 13): real processes under a bounded load of four terminals selling in a
// loop; each dependency is killed and restarted, or frozen (SIGSTOP) and thawed. It asserts fast
// errors while it is down, recovery without a restart of cart, no acknowledged line lost, no cart
// corrupted, one transaction record per billed cart; and across rolling restarts of master-data
// and of cart (SIGTERM), that a client retrying `unavailable` loses nothing at all. The numbers
// (recovery time included: reported, never asserted) are printed as one table at the end.

const rows: FaultRow[] = [];
let md: MasterData;
let redis: Dependency;
let mongo: Dependency;
let cart: Cart;

beforeAll(async () => {
  [md, redis, mongo] = await Promise.all([startMasterData(), startRedis(), startMongo()]);
  cart = await startCartProcess({ MASTER_DATA_URL: md.url, REDIS_URL: redis.url, MONGODB_URI: mongo.url });
}, 120_000);

afterAll(async () => {
  printTable(rows);
  await cart?.proc.stop("SIGKILL");
  await md?.proc.stop("SIGKILL");
  if (mongo !== undefined) {
    // This run's database only: the FerretDB backend (PostgreSQL) is shared with other suites.
    const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 10_000 });
    await client
      .db()
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
  await Promise.all([redis?.close(), mongo?.close()]);
}, 60_000);

const okCount = (o: { code: string }[]) => o.filter((x) => x.code === "ok").length;

interface Fault {
  name: string;
  /** Its terminals' ids start with this. */
  tag: string;
  /** The calls that need the dependency: their first success after it is back is the recovery. */
  needs: string[];
  down(): Promise<void>;
  /** Brings it back; resolves with the moment it listens (or is thawed). */
  up(): Promise<number>;
  /** Failures seen while down before bringing it back. */
  failuresWhileDown: number;
}

/** Runs the load through one fault and returns its row; the checks are the caller's. */
async function runFault(fault: Fault): Promise<FaultRow & { unbilled: number; downCodes: string[] }> {
  const load = startLoad({ name: fault.tag, terminals: 4, carts: [cart] });
  try {
    await load.until((o) => okCount(o) >= 30, "30 calls ok before the fault");
    const from = load.outcomes.length;
    await fault.down();
    const downAt = Date.now();
    await load.until(
      (o) => o.slice(from).filter((x) => x.code !== "ok" && x.at >= downAt).length >= fault.failuresWhileDown,
      `${fault.failuresWhileDown} failures while down`,
    );
    const back = await fault.up();
    const downOutcomes = load.outcomes.slice(from).filter((x) => x.code !== "ok" && x.at < back);
    await load.until(
      (o) => o.some((x) => x.code === "ok" && x.at + x.ms >= back && fault.needs.includes(x.op)),
      "a success after recovery",
    );
    const firstOk = load.outcomes.find((x) => x.code === "ok" && x.at + x.ms >= back && fault.needs.includes(x.op));
    const after = load.outcomes.length;
    await load.until((o) => okCount(o.slice(after)) >= 20, "20 more calls ok");
    await load.stop();
    const unbilled = await load.settle();
    const verdict = await verify(load, cart, mongo.url);
    return {
      fault: fault.name,
      calls: load.outcomes.length,
      ok: okCount(load.outcomes),
      errors: errorsByCode(load.outcomes),
      errorP50Ms: median(downOutcomes.map((x) => x.ms)),
      recoveryMs: firstOk === undefined ? undefined : firstOk.at + firstOk.ms - back,
      verdict,
      unbilled,
      downCodes: [...new Set(downOutcomes.map((x) => x.code))],
    };
  } finally {
    await load.stop();
  }
}

function expectNothingLost(row: Awaited<ReturnType<typeof runFault>>): void {
  rows.push(row);
  expect(row.verdict).toMatchObject({ lost: 0, corrupted: 0, badRecords: 0 });
  expect(row.unbilled).toBe(0);
  expect(row.recoveryMs).toBeDefined();
}

describe("fault suite: real processes under load", () => {
  it("master-data killed and restarted: unavailable fast (breaker), recovery, nothing lost", async () => {
    const before = await cart.stats();
    const row = await runFault({
      name: "master-data killed (SIGKILL), restarted",
      tag: "K",
      needs: ["AddLineItems", "CreateCart"],
      down: async () => {
        await md.proc.stop("SIGKILL");
      },
      up: () => md.start(),
      failuresWhileDown: 40,
    });
    expectNothingLost(row);
    // master-data's failures are unavailable; on a loaded machine a store may also time out meanwhile.
    expect(row.downCodes).toContain("Unavailable");
    expect(row.downCodes.every((c) => c === "Unavailable" || c === "DeadlineExceeded")).toBe(true);
    // Fast: the breaker opened and answered calls without waiting for master-data.
    const after = await cart.stats();
    expect(after.breakerOpened).toBeGreaterThan(before.breakerOpened);
    expect(after.breakerRejected).toBeGreaterThan(before.breakerRejected);
  }, 120_000);

  it("master-data frozen (SIGSTOP) and thawed: timeouts open the breaker, then fast errors, recovery", async () => {
    const before = await cart.stats();
    const row = await runFault({
      name: "master-data frozen (SIGSTOP), SIGCONT",
      tag: "S",
      needs: ["AddLineItems", "CreateCart"],
      down: async () => {
        md.proc.child.kill("SIGSTOP");
      },
      up: async () => {
        md.proc.child.kill("SIGCONT");
        return Date.now();
      },
      failuresWhileDown: 40,
    });
    expectNothingLost(row);
    // master-data's failures are unavailable; on a loaded machine a store may also time out meanwhile.
    expect(row.downCodes).toContain("Unavailable");
    expect(row.downCodes.every((c) => c === "Unavailable" || c === "DeadlineExceeded")).toBe(true);
    expect((await cart.stats()).breakerRejected).toBeGreaterThan(before.breakerRejected);
  }, 120_000);

  it("Redis killed and restarted (append-only file): cart store unavailable, recovery, nothing lost", async () => {
    const row = await runFault({
      name: "Redis killed (SIGKILL), restarted",
      tag: "R",
      needs: ["AddLineItems", "CreateCart", "GetCart"],
      down: () => redis.kill(),
      up: () => redis.start(),
      failuresWhileDown: 20,
    });
    expectNothingLost(row);
    // master-data's failures are unavailable; on a loaded machine a store may also time out meanwhile.
    expect(row.downCodes).toContain("Unavailable");
    expect(row.downCodes.every((c) => c === "Unavailable" || c === "DeadlineExceeded")).toBe(true);
  }, 120_000);

  it("Redis frozen (SIGSTOP) and thawed: timeouts, recovery, nothing lost", async () => {
    const row = await runFault({
      name: "Redis frozen (SIGSTOP), SIGCONT",
      tag: "P",
      needs: ["AddLineItems", "CreateCart", "GetCart"],
      down: async () => redis.signal("SIGSTOP"),
      up: async () => {
        redis.signal("SIGCONT");
        return Date.now();
      },
      failuresWhileDown: 8,
    });
    expectNothingLost(row);
    expect(row.downCodes.every((c) => c === "Unavailable" || c === "DeadlineExceeded")).toBe(true);
  }, 120_000);

  it("the MongoDB-wire server killed and restarted: Bill unavailable, then every billed cart has one record", async () => {
    const row = await runFault({
      name: "FerretDB killed (SIGKILL), restarted",
      tag: "M",
      needs: ["Bill"],
      down: () => mongo.kill(),
      up: () => mongo.start(),
      failuresWhileDown: 4,
    });
    expectNothingLost(row);
    expect(row.downCodes.every((c) => c === "Unavailable" || c === "DeadlineExceeded")).toBe(true);
  }, 120_000);
});

describe("rolling restarts (SIGTERM) with a client that retries unavailable", () => {
  it("master-data restarted on its port: no call fails for good, nothing lost", async () => {
    const load = startLoad({ name: "T", terminals: 4, carts: [cart], retries: 400 });
    await load.until((o) => okCount(o) >= 30, "30 calls ok");
    const stopped = md.proc.stop("SIGTERM");
    expect(await stopped).toBe(0);
    const back = await md.start();
    await load.until((o) => o.some((x) => x.code === "ok" && x.at >= back), "a success after the restart");
    const after = load.outcomes.length;
    await load.until((o) => okCount(o.slice(after)) >= 20, "20 more calls ok");
    await load.stop();
    const unbilled = await load.settle();
    const verdict = await verify(load, cart, mongo.url);
    const firstOk = load.outcomes.find((x) => x.code === "ok" && x.at >= back);
    rows.push({
      fault: "master-data SIGTERM, restarted (client retries)",
      calls: load.outcomes.length,
      ok: okCount(load.outcomes),
      errors: errorsByCode(load.outcomes),
      errorP50Ms: undefined,
      recoveryMs: firstOk === undefined ? undefined : firstOk.at + firstOk.ms - back,
      verdict,
    });
    expect(load.failures()).toBe(0);
    expect(unbilled).toBe(0);
    expect(verdict).toMatchObject({ lost: 0, corrupted: 0, badRecords: 0, unacknowledgedApplied: 0 });
  }, 120_000);

  it("two carts on one Redis, restarted one at a time: no call fails for good, nothing lost or doubled", async () => {
    const second = await startCartProcess({ MASTER_DATA_URL: md.url, REDIS_URL: redis.url, MONGODB_URI: mongo.url });
    try {
      const load = startLoad({ name: "U", terminals: 4, carts: [cart, second], retries: 400 });
      await load.until((o) => okCount(o) >= 30, "30 calls ok");
      const exits: (number | null)[] = [];
      for (const c of [cart, second]) {
        exits.push(await c.proc.stop("SIGTERM"));
        await c.start();
        const after = load.outcomes.length;
        await load.until((o) => okCount(o.slice(after)) >= 20, "20 calls ok after a restart");
      }
      await load.stop();
      const unbilled = await load.settle();
      const verdict = await verify(load, cart, mongo.url);
      rows.push({
        fault: "cart ×2, each SIGTERM + restarted (client retries)",
        calls: load.outcomes.length,
        ok: okCount(load.outcomes),
        errors: errorsByCode(load.outcomes),
        errorP50Ms: undefined,
        recoveryMs: undefined,
        verdict,
      });
      expect(exits).toEqual([0, 0]);
      expect(load.failures()).toBe(0);
      expect(unbilled).toBe(0);
      expect(verdict).toMatchObject({ lost: 0, corrupted: 0, badRecords: 0, unacknowledgedApplied: 0 });
    } finally {
      await second.proc.stop("SIGKILL");
    }
  }, 120_000);
});
