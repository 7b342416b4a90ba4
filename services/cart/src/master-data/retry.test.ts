import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, createRetrier, createRetryBudget, isRetryableCode } from "./retry.js";

const fail = (code: Code) => new ConnectError(`failed with ${Code[code]}`, code);

/** A retrier whose sleeps are recorded, not slept. */
function setup(
  options: { maxAttempts?: number; random?: () => number; budget?: ReturnType<typeof createRetryBudget> } = {},
) {
  const sleeps: number[] = [];
  const retrier = createRetrier({
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    random: options.random ?? (() => 0.5),
    sleep: async (ms) => void sleeps.push(ms),
    ...options,
  });
  return { retrier, sleeps };
}

/** An attempt function failing with the given codes in turn, then succeeding. */
function script(...codes: Code[]) {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (n: number) => {
      calls.push(n);
      const code = codes[n - 1];
      if (code !== undefined) throw fail(code);
      return "ok";
    },
  };
}

describe("isRetryableCode", () => {
  const table: [Code, boolean, boolean][] = [
    [Code.Unavailable, false, true],
    [Code.Unavailable, true, true],
    [Code.DeadlineExceeded, true, true],
    [Code.DeadlineExceeded, false, false],
    [Code.NotFound, true, false],
    [Code.InvalidArgument, true, false],
    [Code.Internal, true, false],
    [Code.Unknown, true, false],
    [Code.Canceled, true, false],
    [Code.ResourceExhausted, true, false],
  ];
  it.each(table.map(([code, idempotent, retry]) => ({ name: Code[code], code, idempotent, retry })))(
    "$name (idempotent: $idempotent) → retry: $retry",
    ({ code, idempotent, retry }) => {
      expect(isRetryableCode(code, idempotent)).toBe(retry);
    },
  );
});

describe("retrier", () => {
  it("retries Unavailable until it succeeds", async () => {
    const { retrier, sleeps } = setup();
    const s = script(Code.Unavailable, Code.Unavailable);
    await expect(retrier.run(s.attempt, { idempotent: false })).resolves.toBe("ok");
    expect(s.calls).toEqual([1, 2, 3]);
    expect(sleeps).toHaveLength(2);
  });

  it("stops after maxAttempts and throws the last error", async () => {
    const { retrier } = setup({ maxAttempts: 3 });
    const s = script(Code.Unavailable, Code.Unavailable, Code.Unavailable, Code.Unavailable);
    await expect(retrier.run(s.attempt, { idempotent: true })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(s.calls).toEqual([1, 2, 3]);
  });

  it("retries DeadlineExceeded only for idempotent calls", async () => {
    const read = script(Code.DeadlineExceeded);
    await expect(setup().retrier.run(read.attempt, { idempotent: true })).resolves.toBe("ok");
    expect(read.calls).toEqual([1, 2]);

    const write = script(Code.DeadlineExceeded);
    await expect(setup().retrier.run(write.attempt, { idempotent: false })).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
    expect(write.calls).toEqual([1]);
  });

  it.each(
    [Code.NotFound, Code.InvalidArgument, Code.Internal, Code.Unknown, Code.PermissionDenied].map(
      (c) => [Code[c], c] as const,
    ),
  )("does not retry %s", async (_name, code) => {
    const s = script(code);
    await expect(setup().retrier.run(s.attempt, { idempotent: true })).rejects.toMatchObject({ code });
    expect(s.calls).toEqual([1]);
  });

  it("does not retry errors the caller marks final", async () => {
    const s = script(Code.Unavailable);
    await expect(setup().retrier.run(s.attempt, { idempotent: true, isFinal: () => true })).rejects.toThrow();
    expect(s.calls).toEqual([1]);
  });

  it("does not retry once the caller's signal is aborted", async () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const { retrier } = setup();
    const run = retrier.run(
      async (n) => {
        calls.push(n);
        ac.abort();
        throw fail(Code.Unavailable);
      },
      { idempotent: true, signal: ac.signal },
    );
    await expect(run).rejects.toMatchObject({ code: Code.Unavailable });
    expect(calls).toEqual([1]);
  });

  it("stops when the caller aborts during the backoff", async () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const retrier = createRetrier({ baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 });
    const run = retrier.run(
      async (n) => {
        calls.push(n);
        throw fail(Code.Unavailable);
      },
      { idempotent: true, signal: ac.signal },
    );
    setImmediate(() => ac.abort());
    const started = Date.now();
    await expect(run).rejects.toMatchObject({ code: Code.Unavailable });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls).toEqual([1]);
  });

  it("does not retry when the backoff would outlast the caller's deadline", async () => {
    let clock = 1_000;
    const calls: number[] = [];
    const retrier = createRetrier({ baseDelayMs: 100, random: () => 0.99, now: () => clock, sleep: async () => {} });
    const run = retrier.run(
      async (n) => {
        calls.push(n);
        clock += 10;
        throw fail(Code.Unavailable);
      },
      { idempotent: true, deadline: 1_050 },
    );
    await expect(run).rejects.toMatchObject({ code: Code.Unavailable });
    expect(calls).toEqual([1]);
  });

  it("waits a full-jitter backoff: random × min(max, base·2^retry)", async () => {
    const { retrier, sleeps } = setup({
      maxAttempts: 6,
      random: () => 0.5,
      budget: createRetryBudget({ maxTokens: 100 }),
    });
    const s = script(Code.Unavailable, Code.Unavailable, Code.Unavailable, Code.Unavailable, Code.Unavailable);
    await retrier.run(s.attempt, { idempotent: true });
    expect(sleeps).toEqual([50, 100, 200, 400, 500]);
  });
});

describe("backoffDelayMs", () => {
  it("stays within [0, min(max, base·2^retry))", () => {
    for (let retry = 0; retry < 12; retry++) {
      const ceiling = Math.min(2_000, 50 * 2 ** retry);
      expect(backoffDelayMs(retry, 50, 2_000, () => 0)).toBe(0);
      expect(backoffDelayMs(retry, 50, 2_000, () => 0.999_999)).toBeLessThan(ceiling);
      expect(backoffDelayMs(retry, 50, 2_000, () => 0.999_999)).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });
});

describe("retry budget", () => {
  it("allows retries only while tokens > maxTokens/2", () => {
    const budget = createRetryBudget({ maxTokens: 10, tokenRatio: 0.1 });
    expect(budget.tokens()).toBe(10);
    for (let i = 0; i < 4; i++) budget.recordFailure();
    expect(budget.canRetry()).toBe(true);
    budget.recordFailure();
    expect(budget.tokens()).toBe(5);
    expect(budget.canRetry()).toBe(false);
    budget.recordSuccess();
    expect(budget.tokens()).toBeCloseTo(5.1);
    expect(budget.canRetry()).toBe(true);
  });

  it("never exceeds maxTokens nor drops below 0", () => {
    const budget = createRetryBudget();
    for (let i = 0; i < 50; i++) budget.recordSuccess();
    expect(budget.tokens()).toBe(10);
    for (let i = 0; i < 50; i++) budget.recordFailure();
    expect(budget.tokens()).toBe(0);
  });

  it("shared by calls, stops retries during an outage", async () => {
    const budget = createRetryBudget();
    const { retrier } = setup({ budget });
    let attempts = 0;
    const down = async () => {
      attempts++;
      throw fail(Code.Unavailable);
    };
    // 10 tokens: 3 + 2 attempts bring it to 5; from then on each call makes exactly one attempt.
    for (let i = 0; i < 10; i++) await expect(retrier.run(down, { idempotent: true })).rejects.toThrow();
    expect(attempts).toBe(3 + 2 + 8);
    expect(budget.canRetry()).toBe(false);
  });

  it("is refilled by successes", async () => {
    const budget = createRetryBudget();
    for (let i = 0; i < 6; i++) budget.recordFailure();
    const { retrier } = setup({ budget });
    for (let i = 0; i < 20; i++) await retrier.run(async () => "ok", { idempotent: true });
    expect(budget.tokens()).toBeCloseTo(6);
    expect(budget.canRetry()).toBe(true);
  });
});
