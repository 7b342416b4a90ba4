import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createWireTransport, windowQuantiles } from "@pos/cart";
import { type Cart, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import type { CartSpec, ClientEvent, ClientResult, ClientSpec, DirectSpec, MasterDataSeen } from "./client-spec.js";
import { createRecorder, type Recorder, runWorkers, sleep, timed } from "./load-loop.js";
import { createItemCaller, type ItemCaller, sendHeaders } from "./node-callers.js";
import { type CpuTimes, cpuDeltaMs, readCpu } from "./proc-stats.js";
import { batchRequest, demo, distinctItemCodes, getItemRequest, randomItemCode, seededRandom } from "./requests.js";

// The Node load client: its own process, so that its CPU is not the server's. Reads a ClientSpec
// (JSON, argv[2]), warms up, measures, and prints JSON events on stdout, the result last.

function emit(event: ClientEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function snapshot(pids: Record<string, number>): Map<string, CpuTimes> {
  const out = new Map<string, CpuTimes>([["client", readCpu(process.pid)]]);
  for (const [name, pid] of Object.entries(pids)) out.set(name, readCpu(pid));
  return out;
}

function progressTicker(phase: "warmup" | "measure", rec: () => Recorder): () => void {
  const timer = setInterval(
    () => emit({ event: "progress", phase, requests: rec().requests, errors: rec().errors }),
    1000,
  );
  return () => clearInterval(timer);
}

/** One window (warm-up or measured) of the scenario; returns the recorder and the window length. */
type Window = (rec: Recorder, durationMs: number) => Promise<number>;

async function measure(spec: ClientSpec, window: Window, edges?: { before(): Promise<void>; after(): Promise<void> }) {
  let rec = createRecorder();
  let stop = progressTicker("warmup", () => rec);
  if (spec.warmupMs > 0) await window(rec, spec.warmupMs);
  stop();
  rec = createRecorder();
  // The load client is the instrument: a full collection of its own between the warm-up and the
  // window, so the garbage of the warm-up's thousands of calls is not collected during a call it
  // times. Without it every paced window had two or three scavenges and a mark-compact of the
  // client (3–10 ms pauses), and they sat on calls it timed (4 of the 12 calls over 6 ms in one
  // window); with it, one short scavenge. The servers get no such help: their GC is what we measure.
  // runNodeClient starts this process with --expose-gc; run by hand without it, the step is skipped.
  (globalThis as { gc?: () => void }).gc?.();
  await edges?.before();
  const before = snapshot(spec.watchPids);
  stop = progressTicker("measure", () => rec);
  const windowMs = await window(rec, spec.durationMs);
  const after = snapshot(spec.watchPids);
  stop();
  await edges?.after();
  const cpuMs: Record<string, number> = {};
  for (const [name, b] of before) {
    const a = after.get(name);
    if (a !== undefined) cpuMs[name] = cpuDeltaMs(b, a);
  }
  return { rec, windowMs, cpuMs };
}

async function runDirect(spec: DirectSpec): Promise<ClientResult> {
  const caller: ItemCaller = createItemCaller(spec.client, spec.baseUrl, spec.concurrency, spec.headers);
  const window: Window = (rec, durationMs) =>
    runWorkers(spec.concurrency, durationMs, async (w, running) => {
      const random = seededRandom(spec.seed * 1000 + w + Math.floor(durationMs));
      while (running()) {
        if (spec.scenario === "get") {
          const code = randomItemCode(random);
          await timed(rec, "GetItemDetail", async () => {
            const res = await caller.getItemDetail(getItemRequest(code));
            if (res.item?.itemCode !== code) return `asked for ${code}, got ${res.item?.itemCode ?? "no item"}`;
            if (res.item.price === undefined) return `${code} came back without a price`;
            return undefined;
          });
        } else {
          const codes = distinctItemCodes(random, 20);
          await timed(rec, "BatchGetItemDetails", async () => {
            const res = await caller.batchGetItemDetails(batchRequest(codes));
            const got = new Set(res.items.map((i) => i.itemCode));
            if (res.items.length !== codes.length || codes.some((c) => !got.has(c))) {
              return `asked for ${codes.length} codes, got ${res.items.length} (${res.notFoundItemCodes.length} not found)`;
            }
            return undefined;
          });
        }
      }
    });
  const { rec, windowMs, cpuMs } = await measure(spec, window);
  caller.close();
  return {
    requests: rec.requests,
    errors: rec.errors,
    windowMs,
    cpuMs,
    sales: 0,
    masterData: undefined,
    ...rec.summary(),
  };
}

interface CartStats {
  calls: number;
  retries: number;
  cacheHits: number;
  latency: { count: number; sumMs: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** cart's histogram buckets, when its build reports them (older builds: since-start quantiles only). */
  buckets: Array<[number, number]> | undefined;
}

async function readCartStats(url: string): Promise<CartStats> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const body: unknown = await res.json();
  const num = (o: unknown, k: string): number => {
    const v = typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined;
    if (typeof v !== "number") throw new Error(`${url}: "${k}" is not a number`);
    return v;
  };
  const latency = typeof body === "object" && body !== null ? (body as Record<string, unknown>).latency : undefined;
  return {
    calls: num(body, "calls"),
    retries: num(body, "retries"),
    cacheHits: num(body, "cacheHits"),
    latency: {
      count: num(latency, "count"),
      sumMs: num(latency, "sumMs"),
      p50Ms: num(latency, "p50Ms"),
      p99Ms: num(latency, "p99Ms"),
      maxMs: num(latency, "maxMs"),
    },
    buckets: bucketsOf(latency),
  };
}

function bucketsOf(latency: unknown): Array<[number, number]> | undefined {
  const raw =
    typeof latency === "object" && latency !== null ? (latency as Record<string, unknown>).buckets : undefined;
  if (!Array.isArray(raw)) return undefined;
  const pairs = raw.filter(
    (b): b is [number, number] => Array.isArray(b) && typeof b[0] === "number" && typeof b[1] === "number",
  );
  return pairs.length === raw.length ? pairs : undefined;
}

const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: demo.currency });

async function runCart(spec: CartSpec): Promise<ClientResult> {
  // Client → cart is fixed (gRPC over one HTTP/2 session); what varies is cart → master-data.
  // The terminals call through cart's own lean transport (the "fast" client): in a closed loop the
  // 20 terminals move in step with cart and master-data (one batch after another), so every µs the
  // load client spends per call is a µs cart waits; connect-node's transport cost about as much
  // CPU per call as cart itself (bench/README.md, "cart's client side"; decision record 0004).
  const wire = createWireTransport(
    { url: spec.baseUrl, protocol: "grpc", httpVersion: "2", format: "binary", client: "fast" },
    { interceptors: [sendHeaders(spec.headers)] },
  );
  const client: Client<typeof CartService> = createClient(CartService, wire.transport);
  let sales = 0;
  let counting = false;
  // The warm-up runs closed loop in every mode: paced latency is then a warm process's, and
  // the warm-up's queued calls stay out of the window's master-data quantiles (read as a diff).
  let warming = spec.warmupMs > 0;
  const window: Window = (rec, durationMs) =>
    runWorkers(spec.terminals, durationMs, async (w, running) => {
      const random = seededRandom(spec.seed * 1000 + w + Math.floor(durationMs));
      const terminalId = `T${String(w + 1).padStart(3, "0")}`;
      const think = async () => {
        if (spec.thinkMs === undefined || warming) return;
        const [min, max] = spec.thinkMs;
        await sleep(min + random() * (max - min));
      };
      // One call of the sale: think first (paced mode), stop at the deadline, give the cart back.
      const step = async (
        kind: string,
        call: () => Promise<Cart | undefined>,
        check: (c: Cart) => string | undefined,
      ) => {
        await think();
        if (!running()) return undefined;
        let cart: Cart | undefined;
        const ok = await timed(rec, kind, async () => {
          cart = await call();
          return cart === undefined ? "answered no cart" : check(cart);
        });
        return ok ? cart : undefined;
      };
      while (running()) {
        const created = await step(
          "CreateCart",
          async () =>
            (
              await client.createCart({
                tenantId: demo.tenantId,
                storeCode: demo.storeCode,
                terminalId,
                staffId: "STAFF01",
              })
            ).cart,
          (c) => (c.cartId === "" ? "no cart id" : undefined),
        );
        if (created === undefined) continue;
        const ref = { tenantId: demo.tenantId, storeCode: demo.storeCode, cartId: created.cartId };
        let cart: Cart | undefined = created;
        for (let i = 0; i < spec.itemsPerSale && cart !== undefined; i++) {
          const code = randomItemCode(random);
          cart = await step(
            "AddLineItems",
            async () => (await client.addLineItems({ cart: ref, items: [{ itemCode: code, quantity: 1 }] })).cart,
            (c) =>
              c.lines.length !== i + 1 || c.lines.at(-1)?.itemCode !== code
                ? `line ${i + 1} should be ${code}, cart has ${c.lines.length} lines ending ${c.lines.at(-1)?.itemCode ?? "-"}`
                : undefined,
          );
        }
        if (cart === undefined) continue;
        cart = await step(
          "Subtotal",
          async () => (await client.subtotal({ cart: ref })).cart,
          (c) =>
            c.status !== CartStatus.PAYING || (c.balanceAmount?.amount ?? 0n) <= 0n
              ? `subtotal left status ${c.status}, balance ${c.balanceAmount?.amount}`
              : undefined,
        );
        if (cart === undefined) continue;
        const due = cart.balanceAmount?.amount ?? 0n;
        cart = await step(
          "AddPayments",
          async () =>
            (await client.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: yen(due) }] })).cart,
          (c) =>
            (c.balanceAmount?.amount ?? 0n) !== 0n
              ? `balance ${c.balanceAmount?.amount} after paying ${due}`
              : undefined,
        );
        if (cart === undefined) continue;
        cart = await step(
          "Bill",
          async () => (await client.bill({ cart: ref })).cart,
          (c) =>
            c.status !== CartStatus.COMPLETED || c.transactionNo === "" ? `bill left status ${c.status}` : undefined,
        );
        if (cart !== undefined && counting) sales++;
      }
    });
  let before: CartStats | undefined;
  let after: CartStats | undefined;
  const { rec, windowMs, cpuMs } = await measure(spec, window, {
    before: async () => {
      warming = false;
      before = await readCartStats(spec.statsUrl);
      counting = true;
    },
    after: async () => {
      counting = false;
      after = await readCartStats(spec.statsUrl);
    },
  });
  wire.close();
  let masterData: MasterDataSeen | undefined;
  if (before !== undefined && after !== undefined) {
    const count = after.latency.count - before.latency.count;
    const window =
      before.buckets !== undefined && after.buckets !== undefined
        ? windowQuantiles({ buckets: before.buckets }, { buckets: after.buckets })
        : undefined;
    masterData = {
      calls: after.calls - before.calls,
      retries: after.retries - before.retries,
      cacheHits: after.cacheHits - before.cacheHits,
      windowCount: count,
      windowMeanMs: count > 0 ? (after.latency.sumMs - before.latency.sumMs) / count : 0,
      windowQuantiles: window !== undefined,
      p50Ms: window?.p50Ms ?? after.latency.p50Ms,
      p99Ms: window?.p99Ms ?? after.latency.p99Ms,
      maxMs: after.latency.maxMs,
    };
  }
  return { requests: rec.requests, errors: rec.errors, windowMs, cpuMs, sales, masterData, ...rec.summary() };
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("usage: load-client.ts '<ClientSpec as JSON>'");
  const spec = JSON.parse(raw) as ClientSpec;
  const result = spec.scenario === "cart" ? await runCart(spec) : await runDirect(spec);
  emit({ event: "result", result });
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(`load client failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
