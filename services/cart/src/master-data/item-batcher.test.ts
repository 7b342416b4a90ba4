import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorOf } from "@pos/common/testing";
import { type Item, ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { describe, expect, it } from "vitest";
import { isCallerDeadlineError } from "./deadline.js";
import { createItemBatcher, type FetchItems, type WantedItem } from "./item-batcher.js";
import type { CallOptions, ItemScope } from "./item-client.js";

// The batcher alone, in memory: what each shared call carries and under whose limits it runs.
// item-client.test.ts runs it against a real master-data over every wire.

interface Sent {
  scope: ItemScope;
  codes: string[];
  call: CallOptions;
}

/** A master-data stand-in: knows codes starting with "A", answers after `delayMs` (or when told to fail). */
function setup(options: { batchSize?: number; delayMs?: number; fail?: Error } = {}) {
  const sent: Sent[] = [];
  const left: ConnectError[] = [];
  const fetch: FetchItems = async (scope, codes, call) => {
    sent.push({ scope, codes, call });
    if (options.delayMs !== undefined) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.delayMs);
        call.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(ConnectError.from(call.signal?.reason, Code.Canceled));
        });
      });
    }
    if (options.fail !== undefined) throw options.fail;
    const found = new Map<string, Item>();
    for (const code of codes) if (code.startsWith("A")) found.set(code, create(ItemSchema, { itemCode: code }));
    return found;
  };
  const batcher = createItemBatcher(fetch, {
    batchSize: options.batchSize ?? 500,
    now: Date.now,
    markLeft: (err) => left.push(err),
  });
  const want = (code: string, call: CallOptions = {}, scope: ItemScope = store1("R01")): Promise<Item | undefined> => {
    const w: WantedItem = {
      scope,
      code,
      call,
      deadline: call.timeoutMs === undefined ? undefined : Date.now() + call.timeoutMs,
    };
    return batcher.load(w);
  };
  return { batcher, sent, left, want };
}

const store1 = (terminalId: string): ItemScope => ({ tenantId: "T0001", storeCode: "S001", terminalId });
const store2 = (terminalId: string): ItemScope => ({ tenantId: "T0001", storeCode: "S002", terminalId });

describe("item batcher", () => {
  it("sends the codes of callers that asked in the same round as one call, and answers each its own", async () => {
    const { batcher, sent, want } = setup();
    const a = {};
    const b = {};
    const [a1, a2, b1, missing] = await Promise.all([
      want("A1", a),
      want("A2", a),
      want("A3", b, store1("R02")),
      want("B9", b, store1("R02")),
    ]);
    expect([a1?.itemCode, a2?.itemCode, b1?.itemCode, missing]).toEqual(["A1", "A2", "A3", undefined]);
    expect(sent.map((s) => s.codes)).toEqual([["A1", "A2", "A3", "B9"]]);
    // Two terminals asked: master-data is not told one of them.
    expect(sent[0]?.scope).toEqual({ tenantId: "T0001", storeCode: "S001", terminalId: "" });
    expect(batcher.shared()).toBe(4);
  });

  it("keeps callers of different rounds, and of different stores, in calls of their own", async () => {
    const { batcher, sent, want } = setup();
    await Promise.all([want("A1", {}, store1("R01")), want("A2", {}, store2("R01"))]);
    await want("A3", {}, store1("R01"));
    expect(sent.map((s) => [s.scope.storeCode, s.scope.terminalId, s.codes])).toEqual([
      ["S001", "R01", ["A1"]],
      ["S002", "R01", ["A2"]],
      ["S001", "R01", ["A3"]],
    ]);
    expect(batcher.shared()).toBe(0);
  });

  it("keeps the terminal when every caller of a shared call is at the same one", async () => {
    const { sent, want } = setup();
    await Promise.all([want("A1", {}, store1("R07")), want("A2", {}, store1("R07"))]);
    expect(sent.map((s) => s.scope.terminalId)).toEqual(["R07"]);
  });

  it("splits a round into calls of at most batchSize codes, and sends a code two callers want once", async () => {
    const { sent, want } = setup({ batchSize: 3 });
    const got = await Promise.all(["A1", "A2", "A3", "A4", "A2", "A5", "A6", "A7"].map((c) => want(c, {})));
    expect(got.map((i) => i?.itemCode)).toEqual(["A1", "A2", "A3", "A4", "A2", "A5", "A6", "A7"]);
    expect(sent.map((s) => s.codes)).toEqual([["A1", "A2", "A3"], ["A4", "A5", "A6"], ["A7"]]);
  });

  it("sends a lone caller's codes under that caller's own limits, unchanged", async () => {
    const { sent, want } = setup();
    const call = { signal: new AbortController().signal, timeoutMs: 500 };
    await Promise.all([want("A1", call), want("A2", call)]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.call).toBe(call);
  });

  it("runs a shared call until the latest deadline of its callers; each leaves at its own", async () => {
    const { sent, left, want } = setup({ delayMs: 150 });
    const short = { timeoutMs: 30 };
    const long = { timeoutMs: 2_000 };
    const [early, late] = await Promise.allSettled([want("A1", short), want("A2", long)]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.call.timeoutMs).toBeGreaterThan(1_500);
    expect(sent[0]?.call.timeoutMs).toBeLessThanOrEqual(2_000);
    expect(early.status).toBe("rejected");
    const err = (early as PromiseRejectedResult).reason as ConnectError;
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(isCallerDeadlineError(err)).toBe(true);
    expect(left).toEqual([err]);
    expect(late).toMatchObject({ status: "fulfilled", value: { itemCode: "A2" } });
  });

  it("has no deadline of its own when one of its callers has none", async () => {
    const { sent, want } = setup();
    await Promise.all([want("A1", { timeoutMs: 100 }), want("A2", {})]);
    expect(sent[0]?.call.timeoutMs).toBeUndefined();
  });

  it("lets a caller that aborts leave at once, and cancels the call only when every caller has", async () => {
    const { sent, left, want } = setup({ delayMs: 200 });
    const a = new AbortController();
    const b = new AbortController();
    const first = want("A1", { signal: a.signal });
    const second = want("A2", { signal: b.signal });
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    const shared = sent[0]?.call.signal as AbortSignal;

    a.abort();
    const err = await errorOf(first);
    expect(err.code).toBe(Code.Canceled);
    expect(left).toEqual([err]);
    expect(shared.aborted).toBe(false);

    b.abort();
    expect(shared.aborted).toBe(true);
    expect((await errorOf(second)).code).toBe(Code.Canceled);
  });

  it("fails every caller of a shared call with its error", async () => {
    const failure = new ConnectError("master-data unavailable", Code.Unavailable);
    const { left, want } = setup({ fail: failure });
    const results = await Promise.allSettled([want("A1", {}), want("A2", {})]);
    expect(results.map((r) => (r as PromiseRejectedResult).reason)).toEqual([failure, failure]);
    expect(left).toEqual([]);
  });
});
