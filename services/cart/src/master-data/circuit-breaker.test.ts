import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type BreakerState, classifyByCode, createCircuitBreaker, isCircuitOpenError } from "./circuit-breaker.js";

const ok = async () => "ok";
const failWith = (code: Code) => async () => {
  throw new ConnectError(`boom ${Code[code]}`, code);
};

// A fixed open period unless a test says otherwise: minOpenMs = openMs, no jitter.
function setup(failureThreshold = 3, openMs = 1_000, minOpenMs = openMs, random = () => 0) {
  let clock = 10_000;
  const changes: string[] = [];
  const breaker = createCircuitBreaker({
    name: "master-data",
    failureThreshold,
    openMs,
    minOpenMs,
    random,
    now: () => clock,
    onStateChange: (from: BreakerState, to: BreakerState) => changes.push(`${from}→${to}`),
  });
  return {
    breaker,
    changes,
    advance: (ms: number) => {
      clock += ms;
    },
    /** Runs n failing attempts, ignoring their errors. */
    fail: async (n: number, code = Code.Unavailable) => {
      for (let i = 0; i < n; i++) await breaker.run(failWith(code)).catch(() => {});
    },
  };
}

describe("classifyByCode", () => {
  const table: [Code, string][] = [
    [Code.Unavailable, "failure"],
    [Code.DeadlineExceeded, "failure"],
    [Code.Internal, "failure"],
    [Code.Unknown, "failure"],
    [Code.NotFound, "success"],
    [Code.InvalidArgument, "success"],
    [Code.PermissionDenied, "success"],
    [Code.Canceled, "ignore"],
  ];
  it.each(table.map(([code, outcome]) => ({ name: Code[code], code, outcome })))(
    "$name → $outcome",
    ({ code, outcome }) => {
      expect(classifyByCode(new ConnectError("x", code))).toBe(outcome);
    },
  );
});

describe("circuit breaker", () => {
  it("opens after N consecutive failures, not fewer", async () => {
    const t = setup(3);
    await t.fail(2);
    expect(t.breaker.state()).toBe("closed");
    await t.fail(1);
    expect(t.breaker.state()).toBe("open");
    expect(t.breaker.snapshot()).toMatchObject({ state: "open", opened: 1, consecutiveFailures: 3 });
    expect(t.changes).toEqual(["closed→open"]);
  });

  it("a success or a 'peer alive' error resets the count", async () => {
    const t = setup(3);
    await t.fail(2);
    await t.breaker.run(ok);
    await t.fail(2);
    await t.fail(1, Code.NotFound);
    await t.fail(2);
    expect(t.breaker.state()).toBe("closed");
    expect(t.breaker.snapshot().consecutiveFailures).toBe(2);
  });

  it("caller cancellations do not count either way", async () => {
    const t = setup(3);
    await t.fail(2);
    await t.fail(5, Code.Canceled);
    expect(t.breaker.snapshot().consecutiveFailures).toBe(2);
    await t.fail(1);
    expect(t.breaker.state()).toBe("open");
  });

  it("while open, fails fast with Unavailable naming master-data and the retry time", async () => {
    const t = setup(3, 5_000);
    await t.fail(3, Code.DeadlineExceeded);
    t.advance(1_000);
    let called = false;
    const err = await t.breaker
      .run(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(isCircuitOpenError(err)).toBe(true);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.Unavailable });
    const message = (err as ConnectError).rawMessage;
    expect(message).toMatch(/^master-data unavailable: circuit breaker open after 3 consecutive failures/);
    expect(message).toContain("(last: DeadlineExceeded)");
    // The code of the last failure, never its text (addresses, driver messages): that is for the log.
    expect(message).not.toContain("boom");
    expect(t.breaker.snapshot().lastFailure).toBe("DeadlineExceeded: boom DeadlineExceeded");
    expect(message).toContain("next probe in 4.0 s");
    expect(t.breaker.snapshot().rejected).toBe(1);
  });

  it("after openMs lets exactly one probe through while others still fail fast", async () => {
    const t = setup(3, 1_000);
    await t.fail(3);
    t.advance(1_000);
    expect(t.breaker.state()).toBe("half-open");
    let release: () => void = () => {};
    const probe = t.breaker.run(() => new Promise<string>((r) => (release = () => r("probe ok"))));
    expect(isCircuitOpenError(await t.breaker.run(ok).catch((e: unknown) => e))).toBe(true);
    await expect(t.breaker.run(ok)).rejects.toThrow(/a probe is in flight/);
    release();
    await expect(probe).resolves.toBe("probe ok");
    expect(t.breaker.state()).toBe("closed");
    await expect(t.breaker.run(ok)).resolves.toBe("ok");
    expect(t.changes).toEqual(["closed→open", "open→half-open", "half-open→closed"]);
  });

  it("a failed probe re-opens for another openMs", async () => {
    const t = setup(3, 1_000);
    await t.fail(3);
    t.advance(1_000);
    await t.fail(1);
    expect(t.breaker.state()).toBe("open");
    expect(t.breaker.snapshot().opened).toBe(2);
    t.advance(999);
    expect(isCircuitOpenError(await t.breaker.run(ok).catch((e: unknown) => e))).toBe(true);
    t.advance(1);
    await expect(t.breaker.run(ok)).resolves.toBe("ok");
    expect(t.breaker.state()).toBe("closed");
  });

  it("a canceled probe frees the slot for the next one", async () => {
    const t = setup(3, 1_000);
    await t.fail(3);
    t.advance(1_000);
    await t.fail(1, Code.Canceled);
    expect(t.breaker.state()).toBe("half-open");
    await expect(t.breaker.run(ok)).resolves.toBe("ok");
    expect(t.breaker.state()).toBe("closed");
  });

  it("a probe that proves the peer alive (NotFound) closes the breaker", async () => {
    const t = setup(3, 1_000);
    await t.fail(3);
    t.advance(1_000);
    await t.fail(1, Code.NotFound);
    expect(t.breaker.state()).toBe("closed");
  });

  it("a custom classification can ignore an error", async () => {
    const t = setup(1);
    await t.breaker.run(failWith(Code.DeadlineExceeded), () => "ignore").catch(() => {});
    expect(t.breaker.state()).toBe("closed");
  });

  it("opens for minOpenMs first, twice as long after each failed probe up to openMs, and short again once closed", async () => {
    const t = setup(3, 1_000, 250);
    await t.fail(3);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      periods.push((t.breaker.snapshot().retryAt ?? 0) - 10_000 - periodsSum(periods));
      t.advance(periods.at(-1) ?? 0);
      expect(t.breaker.state()).toBe("half-open");
      await t.fail(1);
    }
    expect(periods).toEqual([250, 500, 1_000, 1_000]);
    t.advance(1_000);
    await t.breaker.run(ok);
    expect(t.breaker.state()).toBe("closed");
    const reopenedAt = 10_000 + periodsSum(periods) + 1_000;
    await t.fail(3);
    expect(t.breaker.snapshot().retryAt).toBe(reopenedAt + 250);
  });

  it("shortens each open period by up to a quarter at random, so processes do not probe in step", async () => {
    const t = setup(1, 1_000, 1_000, () => 1);
    await t.fail(1);
    expect(t.breaker.snapshot().retryAt).toBe(10_000 + 750);
    t.advance(749);
    expect(t.breaker.state()).toBe("open");
    t.advance(1);
    expect(t.breaker.state()).toBe("half-open");
  });
});

function periodsSum(periods: number[]): number {
  return periods.reduce((a, b) => a + b, 0);
}
