import { Code, ConnectError, createClient, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import type { BreakerState } from "./circuit-breaker.js";
import { callContext } from "./deadline.js";
import { timeoutHeaderOf } from "./fast-transport.js";
import { createResilience, type ResilienceOptions } from "./resilience.js";

// The resilience interceptors on an in-memory transport (no sockets): what each call sees and
// what the server is asked. The same interceptors run over real sockets in item-client.test.ts
// and test/resilience.test.ts.

type Behaviour = (ctx: HandlerContext) => Promise<void>;

function setup(script: Behaviour[], options: ResilienceOptions = {}) {
  const seen: { timeout: string | null }[] = [];
  const changes: string[] = [];
  const resilience = createResilience(timeoutHeaderOf("connect"), {
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    onBreakerStateChange: ({ from, to }) => changes.push(`${from}→${to}`),
    ...options,
  });
  const transport = createRouterTransport(
    (router) =>
      router.service(ItemService, {
        async listTaxes(_req, ctx) {
          seen.push({ timeout: ctx.requestHeader.get("connect-timeout-ms") });
          const behave = script[seen.length - 1] ?? (async () => {});
          await behave(ctx);
          return { taxes: [{ taxCode: "01" }] };
        },
      }),
    { transport: { interceptors: resilience.interceptors } },
  );
  return { client: createClient(ItemService, transport), seen, changes, stats: resilience.stats };
}

const fail =
  (code: Code, message = `failed with ${Code[code]}`) =>
  async () => {
    throw new ConnectError(message, code);
  };
const waitForAbort: Behaviour = (ctx) =>
  new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

describe("resilience interceptors (in memory)", () => {
  it("retries unavailable and answers once the server does", async () => {
    const { client, seen, stats } = setup([fail(Code.Unavailable), fail(Code.Unavailable)]);
    const res = await client.listTaxes({ tenantId: "T" });
    expect(res.taxes.map((t) => t.taxCode)).toEqual(["01"]);
    expect(seen).toHaveLength(3);
    expect(stats()).toMatchObject({ calls: 1, retries: 2, breaker: "closed" });
    expect(stats().latency.count).toBe(3);
  });

  it("does not retry an answer (not_found) and passes its message, nothing else", async () => {
    const { client, seen } = setup([fail(Code.NotFound, 'tenant "X" has no catalogue')]);
    const err = await errorOf(client.listTaxes({ tenantId: "X" }));
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, 'tenant "X" has no catalogue']);
    expect(seen).toHaveLength(1);
  });

  it("maps unavailable after the last attempt to 'master-data unavailable' and server faults to internal without their text", async () => {
    const down = setup([
      fail(Code.Unavailable, "db down\nstack"),
      fail(Code.Unavailable),
      fail(Code.Unavailable, "db down"),
    ]);
    const err = await errorOf(down.client.listTaxes({ tenantId: "T" }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unavailable, "master-data unavailable"]);

    const broken = setup([fail(Code.DataLoss, "secret driver text")]);
    const internal = await errorOf(broken.client.listTaxes({ tenantId: "T" }));
    expect([internal.code, internal.rawMessage]).toEqual([Code.Internal, "master-data call failed (DataLoss)"]);
  });

  it("stops retrying when the shared budget is spent", async () => {
    const always = Array.from({ length: 100 }, () => fail(Code.Unavailable));
    const { client, seen, stats } = setup(always, { breaker: { failureThreshold: 1_000 } });
    for (let i = 0; i < 10; i++) await errorOf(client.listTaxes({ tenantId: "T" }));
    // 10 tokens, 1 per failure, retries only above 5: 3 + 2 attempts, then one per call.
    expect(seen).toHaveLength(3 + 2 + 8);
    expect(stats().retryTokens).toBe(0);
  });

  it("gives each attempt the attempt timeout, tells the server, and retries one that ran out", async () => {
    const { client, seen, stats } = setup([waitForAbort, waitForAbort, waitForAbort], { timeoutMs: 40 });
    const err = await errorOf(client.listTaxes({ tenantId: "T" }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unavailable, "master-data unavailable: no answer within 40 ms"]);
    expect(seen.map((s) => s.timeout)).toEqual(["40", "40", "40"]);
    expect(stats().retries).toBe(2);
  });

  it("sends the caller's shorter deadline; running out of it is the caller's deadline_exceeded, not retried, not a breaker failure", async () => {
    const { client, seen, stats } = setup([waitForAbort], { timeoutMs: 3_000, breaker: { failureThreshold: 1 } });
    const err = await errorOf(client.listTaxes({ tenantId: "T" }, { contextValues: callContext(60) }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(seen).toHaveLength(1);
    expect(Number(seen[0]?.timeout)).toBeGreaterThan(40);
    expect(Number(seen[0]?.timeout)).toBeLessThanOrEqual(60);
    expect(stats()).toMatchObject({ retries: 0, breaker: "closed" });
  });

  it("stops at once when the caller aborts: canceled, no retry", async () => {
    const { client, seen, stats } = setup([waitForAbort]);
    const ac = new AbortController();
    const pending = client.listTaxes({ tenantId: "T" }, { signal: ac.signal });
    await expect.poll(() => seen.length, { timeout: 5_000, interval: 2 }).toBe(1);
    ac.abort();
    expect((await errorOf(pending)).code).toBe(Code.Canceled);
    expect(seen).toHaveLength(1);
    expect(stats().retries).toBe(0);
  });

  it("opens the breaker after N failures, fails fast without calling, probes after openMs, and logs each change once", async () => {
    let clock = 1_000_000;
    const script = [...Array.from({ length: 3 }, () => fail(Code.Unavailable))];
    const { client, seen, changes, stats } = setup(script, {
      now: () => clock,
      retry: { maxAttempts: 1 },
      breaker: { failureThreshold: 3, openMs: 1_000 },
    });
    for (let i = 0; i < 3; i++) await errorOf(client.listTaxes({ tenantId: "T" }));
    expect(stats().breaker).toBe<BreakerState>("open");
    const fast = await errorOf(client.listTaxes({ tenantId: "T" }));
    expect(fast.rawMessage).toMatch(/^master-data unavailable: circuit breaker open after 3 consecutive failures/);
    expect(seen).toHaveLength(3);

    clock += 1_000;
    await client.listTaxes({ tenantId: "T" });
    expect(seen).toHaveLength(4);
    expect(stats()).toMatchObject({ breaker: "closed", breakerOpened: 1, breakerRejected: 1 });
    expect(changes).toEqual(["closed→open", "open→half-open", "half-open→closed"]);
  });
});

describe("a call the transport lost", () => {
  it("aborted or canceled not by the caller → unavailable: retried, counted by the breaker, the cause kept", async () => {
    const { client, seen, stats } = setup([fail(Code.Aborted, "write ECONNRESET"), fail(Code.Canceled)]);
    const res = await client.listTaxes({ tenantId: "T" });
    expect(res.taxes).toHaveLength(1);
    expect(seen).toHaveLength(3);
    expect(stats().retries).toBe(2);

    const lost = setup(
      Array.from({ length: 3 }, () => fail(Code.Aborted, "write ECONNRESET")),
      {
        breaker: { failureThreshold: 3 },
      },
    );
    const err = await errorOf(lost.client.listTaxes({ tenantId: "T" }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unavailable, "master-data unavailable"]);
    // The client's message has no transport text; the cause (for the log) has it.
    expect(String((err.cause as ConnectError).rawMessage)).toContain("ECONNRESET");
    expect(lost.stats().breaker).toBe("open");
  });

  it("an HTTP/2 stream refused as a GOAWAY arrived (connect-node: internal) is unavailable too", async () => {
    const { client, seen } = setup([fail(Code.Internal, "Stream closed with error code NGHTTP2_REFUSED_STREAM")]);
    await client.listTaxes({ tenantId: "T" });
    expect(seen).toHaveLength(2);
  });
});
