import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type ServiceProcess, spawnService, startFerretDb, testAuth } from "@pos/common/testing";
import { CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import { MongoClient } from "mongodb";

// The fault suite's real processes (master-data, cart, its own redis-server and FerretDB on free
// ports: the shared ones are never touched), its bounded load and its checks.

export const cartMain = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
export const scope = { tenantId: "T0001", storeCode: "S0001" };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on `port`. */
export async function listening(port: number, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A dependency process that can be killed, frozen and started again on the same port with the same data. */
export interface Dependency {
  port: number;
  url: string;
  signal(signal: NodeJS.Signals): void;
  /** Kills it (SIGKILL) and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it listens, with that moment. */
  start(): Promise<number>;
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function dependency(port: number, url: string, launch: () => ChildProcess, cleanup: () => void): Dependency {
  let child: ChildProcess | undefined;
  const dep: Dependency = {
    port,
    url,
    signal: (signal) => child?.kill(signal),
    async kill() {
      if (child === undefined) return;
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await exited(child);
      child = undefined;
    },
    async start() {
      child = launch();
      await listening(port);
      return Date.now();
    },
    async close() {
      await dep.kill();
      cleanup();
    },
  };
  return dep;
}

/** redis-server with an append-only file synced on every write: a kill loses no acknowledged write. */
export async function startRedis(): Promise<Dependency> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pos-faults-redis-"));
  const dep = dependency(
    port,
    `redis://127.0.0.1:${port}`,
    () =>
      spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes"].concat([
          "--appendfsync",
          "always",
        ]),
        { stdio: "ignore" },
      ),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await dep.start();
  return dep;
}

/** Its own FerretDB (as the Bill fault tests start one), behind the same interface as Redis. */
export async function startMongo(): Promise<Dependency> {
  const ferret = await startFerretDb();
  if (ferret === undefined) throw new Error("FerretDB is not built (~/go/bin/ferretdb): scripts/test.sh builds it");
  return {
    port: ferret.port,
    url: `${ferret.uri}pos_cart_faults_${process.pid}_${Date.now()}`,
    signal: () => {
      throw new Error("not used");
    },
    kill: () => ferret.kill(),
    async start() {
      await ferret.start();
      return Date.now();
    },
    close: () => ferret.close(),
  };
}

export interface MasterData {
  port: number;
  url: string;
  proc: ServiceProcess;
  /** Starts master-data (again) on its port; resolves with the moment it listens. */
  start(): Promise<number>;
}

export async function startMasterData(): Promise<MasterData> {
  const port = await freePort();
  const md: MasterData = {
    port,
    url: `http://127.0.0.1:${port}`,
    proc: undefined as unknown as ServiceProcess,
    async start() {
      md.proc = spawnService(masterDataMain, { MASTER_DATA_PORT: String(port), LOG_LEVEL: "warn" });
      await listening(port, 60_000);
      return Date.now();
    },
  };
  await md.start();
  return md;
}

export interface Cart {
  port: number;
  url: string;
  proc: ServiceProcess;
  client: Client<typeof CartService>;
  start(): Promise<void>;
  /** What cart saw of master-data: breaker opened / rejected, calls. */
  stats(): Promise<{ calls: number; breakerOpened: number; breakerRejected: number }>;
}

export async function startCartProcess(env: Record<string, string>): Promise<Cart> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cart: Cart = {
    port,
    url,
    proc: undefined as unknown as ServiceProcess,
    client: createClient(
      CartService,
      createGrpcTransport({ baseUrl: url, interceptors: [testAuth.clientInterceptor] }),
    ),
    async start() {
      cart.proc = spawnService(cartMain, {
        CART_PORT: String(port),
        LOG_LEVEL: "warn",
        ITEM_CACHE_TTL_MS: "0",
        MASTER_DATA_TIMEOUT_MS: "500",
        REDIS_TIMEOUT_MS: "500",
        MONGODB_TIMEOUT_MS: "1000",
        // Sales cut short by a fault stay open; the cap is not what this suite is about.
        MAX_OPEN_CARTS_PER_TERMINAL: "10000",
        ...env,
      });
      await listening(port, 60_000);
    },
    async stats() {
      return (await (await fetch(`${url}/stats/master-data`)).json()) as Awaited<ReturnType<Cart["stats"]>>;
    },
  };
  await cart.start();
  return cart;
}

/** One call's outcome as a terminal saw it. */
interface Outcome {
  op: string;
  at: number;
  ms: number;
  code: string;
}

interface SaleRecord {
  cartId: string;
  /** Item codes whose AddLineItems was answered ok. */
  acked: Set<string>;
  /** Item codes sent, answered or not. */
  sent: Set<string>;
  billed: boolean;
}

/** Code of a failure; "not sent" when the client's HTTP/2 layer refused the stream itself (GOAWAY race). */
export function outcomeCode(e: unknown): string {
  const err = ConnectError.from(e);
  const text = `${err.rawMessage} ${String((err.cause as Error | undefined)?.message)}`;
  if (/REFUSED_STREAM|EPIPE|GOAWAY_SESSION/.test(text)) return "not sent";
  return Code[err.code];
}

export interface LoadOptions {
  terminals: number;
  /** Terminal ids are `${name}${n}`: one set per scenario, so the per-terminal caps do not carry over. */
  name: string;
  /** Which cart a terminal calls on its n-th attempt of a call (one cart: always the same). */
  carts: Cart[];
  /** Retries a call answered `unavailable` (or never sent) on the next cart, up to this many times. */
  retries?: number;
  /** Safety bound: no terminal makes more calls than this. */
  maxCalls?: number;
}

/**
 * Terminals selling in a loop (create, three lines, subtotal, cash, bill) until stop(); every
 * outcome and every acknowledged line is kept for the checks.
 */
export function startLoad(options: LoadOptions) {
  const outcomes: Outcome[] = [];
  const sales: SaleRecord[] = [];
  const retries = options.retries ?? 0;
  const maxCalls = options.maxCalls ?? 5_000;
  let stopped = false;
  let failures = 0;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
  };

  async function call<T>(op: string, terminal: number, run: (client: Client<typeof CartService>) => Promise<T>) {
    for (let attempt = 0; ; attempt++) {
      const cart = options.carts[(terminal + attempt) % options.carts.length] as Cart;
      const at = Date.now();
      try {
        const result = await run(cart.client);
        outcomes.push({ op, at, ms: Date.now() - at, code: "ok" });
        notify();
        return result;
      } catch (e) {
        const code = outcomeCode(e);
        outcomes.push({ op, at, ms: Date.now() - at, code });
        notify();
        if (attempt >= retries || (code !== "Unavailable" && code !== "not sent")) {
          failures++;
          throw e;
        }
        await new Promise((r) => setTimeout(r, Math.min(200, 20 * (attempt + 1))));
      }
    }
  }

  async function terminal(n: number): Promise<void> {
    let calls = 0;
    while (!stopped && calls < maxCalls) {
      calls++;
      let cartId: string;
      try {
        const created = await call("CreateCart", n, (c) =>
          c.createCart({ ...scope, terminalId: `${options.name}${n}`, staffId: "S1" }),
        );
        cartId = created.cart?.cartId ?? "";
      } catch {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const sale: SaleRecord = { cartId, acked: new Set(), sent: new Set(), billed: false };
      sales.push(sale);
      const ref = { ...scope, cartId };
      for (let k = 1; k <= 3 && !stopped; k++) {
        calls++;
        const itemCode = `ITEM000${k}`;
        sale.sent.add(itemCode);
        try {
          await call("AddLineItems", n, (c) => c.addLineItems({ cart: ref, items: [{ itemCode, quantity: 1 }] }));
          sale.acked.add(itemCode);
        } catch {
          // The line may or may not be in the cart; only acknowledged lines must be.
        }
      }
      if (sale.acked.size === 0) continue;
      calls += 3;
      await billSale(n, sale).catch(() => undefined);
    }
  }

  async function billSale(n: number, sale: SaleRecord): Promise<void> {
    const ref = { ...scope, cartId: sale.cartId };
    const current = (await call("GetCart", n, (c) => c.getCart({ cart: ref }))).cart;
    if (current?.status === CartStatus.COMPLETED) {
      sale.billed = true;
      return;
    }
    let cart = current;
    if (cart?.status !== CartStatus.PAYING || (cart.balanceAmount?.amount ?? 0n) > 0n) {
      if (cart?.status !== CartStatus.PAYING) cart = (await call("Subtotal", n, (c) => c.subtotal({ cart: ref }))).cart;
      const due = cart?.balanceAmount;
      if (due !== undefined && due.amount > 0n) {
        await call("AddPayments", n, (c) =>
          c.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: due }] }),
        );
      }
    }
    await call("Bill", n, (c) => c.bill({ cart: ref }));
    sale.billed = true;
  }

  const running = Promise.all(Array.from({ length: options.terminals }, (_, n) => terminal(n)));

  return {
    outcomes,
    sales,
    /** Resolves once `check` holds for the outcomes (polled on each new one), or rejects after deadlineMs. */
    until(check: (outcomes: Outcome[]) => boolean, what: string, deadlineMs = 30_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(test);
          // What the calls answered says why (a store that never came back, a cap, a deadline…).
          const tally = new Map<string, number>();
          for (const o of outcomes) tally.set(`${o.op} ${o.code}`, (tally.get(`${o.op} ${o.code}`) ?? 0) + 1);
          const seen = [...tally].map(([k, n]) => `${k}: ${n}`).join(", ");
          reject(new Error(`load: not ${what} within ${deadlineMs} ms (${outcomes.length} calls; ${seen})`));
        }, deadlineMs);
        const test = () => {
          if (!check(outcomes)) return;
          waiters.delete(test);
          clearTimeout(timer);
          resolve();
        };
        waiters.add(test);
        test();
      });
    },
    /** Calls that failed for good (after their retries). */
    failures: () => failures,
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
    /** A terminal that retries: every sale with an acknowledged line is billed in the end (bounded tries). */
    async settle(): Promise<number> {
      let unbilled = 0;
      for (const sale of sales) {
        if (sale.billed || sale.acked.size === 0) continue;
        for (let tries = 0; tries < 50 && !sale.billed; tries++) {
          await billSale(0, sale).catch(() => new Promise((r) => setTimeout(r, 100)));
        }
        if (!sale.billed) unbilled++;
      }
      return unbilled;
    },
  };
}

export type Load = ReturnType<typeof startLoad>;

export interface Verdict {
  carts: number;
  /** Acknowledged lines missing from their cart. */
  lost: number;
  /** Lines in a cart that were never sent, duplicates, totals that do not add up, a billed cart not COMPLETED. */
  corrupted: number;
  /** Billed carts without exactly one transaction record. */
  badRecords: number;
  /** Lines in a cart whose AddLineItems failed (applied, answer lost): allowed, reported. */
  unacknowledgedApplied: number;
}

/** Reads every cart back and counts the transaction records per billed cart. */
export async function verify(load: Load, cart: Cart, mongodbUri: string): Promise<Verdict> {
  const verdict: Verdict = { carts: 0, lost: 0, corrupted: 0, badRecords: 0, unacknowledgedApplied: 0 };
  const mongo = new MongoClient(mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const billed = load.sales.filter((s) => s.billed).map((s) => s.cartId);
    // The sale record may be written by the outbox's drain a moment after Bill answered: poll.
    let records = new Map<string, number>();
    for (const until = Date.now() + 30_000; ; ) {
      records = new Map();
      const docs = await mongo
        .db()
        .collection("transaction_logs")
        .find({ tenant_id: scope.tenantId }, { projection: { cart_id: 1 } })
        .toArray();
      for (const d of docs) records.set(String(d.cart_id), (records.get(String(d.cart_id)) ?? 0) + 1);
      if (billed.every((id) => records.get(id) === 1) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const sale of load.sales) {
      verdict.carts++;
      const got = (await cart.client.getCart({ cart: { ...scope, cartId: sale.cartId } })).cart;
      const codes = (got?.lines ?? []).filter((l) => !l.isCancelled).map((l) => l.itemCode);
      for (const code of sale.acked) if (!codes.includes(code)) verdict.lost++;
      const total = (got?.lines ?? []).filter((l) => !l.isCancelled).reduce((s, l) => s + (l.amount?.amount ?? 0n), 0n);
      const broken =
        new Set(codes).size !== codes.length ||
        codes.some((c) => !sale.sent.has(c)) ||
        total !== (got?.totalAmount?.amount ?? 0n) ||
        (sale.billed && got?.status !== CartStatus.COMPLETED);
      if (broken) verdict.corrupted++;
      verdict.unacknowledgedApplied += codes.filter((c) => !sale.acked.has(c)).length;
      if (sale.billed && records.get(sale.cartId) !== 1) verdict.badRecords++;
    }
  } finally {
    await mongo.close();
  }
  return verdict;
}

export interface FaultRow {
  fault: string;
  calls: number;
  ok: number;
  errors: Record<string, number>;
  /** Median latency of the failures while the dependency was down. */
  errorP50Ms: number | undefined;
  recoveryMs: number | undefined;
  verdict: Verdict;
}

export function errorsByCode(outcomes: readonly Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) if (o.code !== "ok") out[o.code] = (out[o.code] ?? 0) + 1;
  return out;
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function printTable(rows: FaultRow[]): void {
  const lines = [
    "| fault | calls | ok | errors by code | error p50 ms | recovery ms | carts | lost | corrupted | billed ≠ 1 record | applied w/o ack |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows
      .map((r) =>
        [
          r.fault,
          r.calls,
          r.ok,
          Object.entries(r.errors)
            .map(([c, n]) => `${c} ${n}`)
            .join(", ") || "none",
          r.errorP50Ms ?? "–",
          r.recoveryMs ?? "–",
          r.verdict.carts,
          r.verdict.lost,
          r.verdict.corrupted,
          r.verdict.badRecords,
          r.verdict.unacknowledgedApplied,
        ].join(" | "),
      )
      .map((l) => `| ${l} |`),
  ];
  console.log(`fault suite (services/cart/test/faults):\n${lines.join("\n")}`);
}
