import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterEach, describe, expect, it } from "vitest";
import { startMasterDataProcess } from "./cart-harness.js";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// SIGTERM on real processes: every call the server took gets a whole answer, calls that come
// later get `unavailable`, and the process exits 0. The numbers are printed for the note.

const cartMain = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const running: ServiceProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.child.kill("SIGCONT");
    await p.stop("SIGKILL");
  }
});

const scope = { tenantId: "T0001", storeCode: "S0001" };

function codeOf(e: unknown): string {
  return Code[ConnectError.from(e).code];
}

/**
 * A failed call as the client saw it: `Unavailable` (refused by the server in its protocol, or no
 * connection), "not sent" when the client's own HTTP layer never delivered the request (an HTTP/2
 * stream it opened as the GOAWAY arrived, refused locally with REFUSED_STREAM, which connect-node
 * reports as internal; an HTTP/1.1 write to a connection the server had already closed), else its code.
 */
function outcomeOf(e: unknown): string {
  const err = ConnectError.from(e);
  const text = `${err.rawMessage} ${String((err.cause as Error | undefined)?.message)}`;
  if (/REFUSED_STREAM|EPIPE|GOAWAY_SESSION/.test(text)) return "not sent";
  return Code[err.code];
}

function tally(outcomes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) out[o] = (out[o] ?? 0) + 1;
  return out;
}

describe("shutdown on SIGTERM (real processes)", () => {
  it("master-data under load: every call is answered ok or unavailable, none is cut", async () => {
    const md = await startMasterDataProcess();
    running.push(md.proc);
    const clients = [
      createClient(ItemService, createGrpcTransport({ baseUrl: md.url, interceptors })),
      createClient(ItemService, createConnectTransport({ baseUrl: md.url, httpVersion: "1.1", interceptors })),
      createClient(
        ItemService,
        createConnectTransport({ baseUrl: md.url, httpVersion: "2", useBinaryFormat: true, interceptors }),
      ),
    ];
    const outcomes: string[] = [];
    let stopping = false;
    let okAfterSignal = 0;
    // Four loops per client, bounded by count; each stops once it saw the server refuse.
    const loop = async (client: (typeof clients)[number]) => {
      for (let i = 0; i < 2_000; i++) {
        try {
          await client.getItemDetail({ ...scope, itemCode: `ITEM${String((i % 500) + 1).padStart(4, "0")}` });
          outcomes.push("ok");
          if (stopping) okAfterSignal++;
        } catch (e) {
          outcomes.push(outcomeOf(e));
          if (stopping) return;
        }
      }
    };
    const loops = clients.flatMap((c) => [loop(c), loop(c), loop(c), loop(c)]);
    // Under load before the signal.
    while (outcomes.length < 300) await new Promise((r) => setTimeout(r, 10));
    stopping = true;
    md.proc.child.kill("SIGTERM");
    await Promise.all(loops);
    const exit = await md.proc.exited;
    const counts = tally(outcomes);
    console.log(
      `shutdown, master-data: ${outcomes.length} calls, ${JSON.stringify(counts)}, ok after SIGTERM ${okAfterSignal}, exit ${exit}`,
    );
    expect(Object.keys(counts).filter((c) => !["ok", "Unavailable", "not sent"].includes(c))).toEqual([]);
    expect(exit).toBe(0);
  }, 60_000);

  it("cart with master-data frozen: calls in flight outlive the old 5 s grace and get their whole answer", async () => {
    const md = await startMasterDataProcess();
    running.push(md.proc);
    const cart = spawnService(cartMain, {
      CART_PORT: "0",
      MASTER_DATA_URL: md.url,
      ITEM_CACHE_TTL_MS: "0",
      // 3 s per attempt (the default) and a retry: longer than the 5 s the grace used to be.
      MASTER_DATA_BREAKER_FAILURES: "1000",
      LOG_LEVEL: "info",
    });
    running.push(cart);
    const port = await cart.port(30_000);
    const client = createClient(
      CartService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors }),
    );
    const refs = [];
    // Three calls, so that the retry budget still allows one retry each.
    for (let i = 0; i < 3; i++) {
      const { cart: c } = await client.createCart({ ...scope, terminalId: `R${i}`, staffId: "S1" });
      refs.push({ ...scope, cartId: c!.cartId });
    }
    // Item codes that reached cart's master-data client (not calls: it sends concurrent lookups as one batch).
    const stats = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/stats/master-data`)).json()) as { cacheMisses: number })
        .cacheMisses;
    const before = await stats();
    md.proc.child.kill("SIGSTOP");
    const started = Date.now();
    const inFlight = refs.map((ref, i) =>
      client
        .addLineItems({ cart: ref, items: [{ itemCode: `ITEM000${i + 1}`, quantity: 1 }] })
        .then(
          () => "ok",
          (e: unknown) => `${codeOf(e)}: ${ConnectError.from(e).rawMessage}`,
        )
        .then((outcome) => ({ outcome, ms: Date.now() - started })),
    );
    // The calls reached cart: its master-data client has them in flight.
    for (const deadline = Date.now() + 20_000; (await stats()) < before + refs.length && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    cart.child.kill("SIGTERM");
    const signalled = Date.now();
    await cart.waitFor(/"msg":"shutting down"/);
    // A call that comes now is refused in gRPC's framing (or, once the listener is closed, not connected).
    const late = await client.getCart({ cart: refs[0] }).then(
      () => "ok",
      (e: unknown) => outcomeOf(e),
    );
    const answers = await Promise.all(inFlight);
    const exit = await cart.exited;
    console.log(
      `shutdown, cart with master-data frozen: ${answers.length} calls in flight answered after ${answers.map((a) => a.ms).join("/")} ms (${[...new Set(answers.map((a) => a.outcome))].join("; ")}); a call after SIGTERM: ${late}; SIGTERM at ${signalled - started} ms, exit ${exit} at ${Date.now() - started} ms`,
    );
    for (const a of answers) expect(a.outcome).toMatch(/^Unavailable: master-data unavailable/);
    expect(["Unavailable", "not sent"]).toContain(late);
    expect(exit).toBe(0);
  }, 90_000);
});
