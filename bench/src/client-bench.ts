import { execFile, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ClientKind } from "@pos/cart";
import { type BaselineBuild, prepareBaseline } from "./baseline-build.js";
import type { CartSpec, ClientResult } from "./client-spec.js";
import { benchCredential } from "./credential.js";
import type { FloorKind, FloorRow, FloorSpec, LinesResult, LinesSpec } from "./floor-client.js";
import { type RunningServer, runNodeClient, startServer } from "./processes.js";
import { cpuPerRequestUs, median } from "./stats.js";

// `pnpm bench:client [--quick]`: cart's client side in ONE run, so that ratios hold on a shared
// machine: (1) the floor — a bare node:http / node:http2 request of the same bytes as cart's
// master-data call — next to each client transport, ours ("fast") and connect-node's, back to
// back and paced; (2) cart end to end per transport × client, closed loop and paced, with the
// master-data call as cart sees it and CPU per cart call split into cart / master-data;
// (3) AddLineItems on carts of 200 lines against carts of 1 line; (4) the same cart cases on the
// build the issue measured (`--baseline=REV`, default below; `--no-baseline` skips it): its own
// master-data and cart, unpacked from git, in this same run, so "× the old build" is one run's ratio.

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const entries = {
  // The built services, as start.sh and production run them (built first, in main()).
  masterData: path.join(repoRoot, "services/master-data/dist/main.js"),
  cart: path.join(repoRoot, "services/cart/dist/main.js"),
  loadClient: path.join(here, "load-client.ts"),
  floorClient: path.join(here, "floor-client.ts"),
};

const wires = [
  { name: "Connect JSON, HTTP/1.1", wire: { protocol: "connect", httpVersion: "1.1", format: "json" } },
  { name: "Connect binary, HTTP/1.1", wire: { protocol: "connect", httpVersion: "1.1", format: "binary" } },
  { name: "Connect binary, HTTP/2", wire: { protocol: "connect", httpVersion: "2", format: "binary" } },
  { name: "gRPC, HTTP/2", wire: { protocol: "grpc", httpVersion: "2", format: "binary" } },
  { name: "gRPC-Web, HTTP/1.1", wire: { protocol: "grpc-web", httpVersion: "1.1", format: "binary" } },
] as const;
const clients: ClientKind[] = ["fast", "connect-node"];
// The fast client with cart's batching of concurrent lookups off (MASTER_DATA_BATCHING=false), in
// the closed loop only: there the 20 terminals' lookups arrive together and batching changes how
// many master-data calls a cart call costs; one terminal (back to back) never shares a call.
const noBatching = "fast, batching off" as const;

const quick = process.argv.includes("--quick");
// The commit at which issue 8 measured cart (463 cart calls/s closed loop): cart and master-data
// before the lean client, the cart cost work and everything since.
const defaultBaseline = "7329a29";
const baselineRev = process.argv.includes("--no-baseline")
  ? undefined
  : (process.argv.find((a) => a.startsWith("--baseline="))?.slice("--baseline=".length) ?? defaultBaseline);
// Closed loop runs in rounds, each round every build and client in turn: a slow spell of the
// machine (closed-loop CPU per call moves ±15–25 % between minutes here) then hits all of them, and
// the goals take the median round (calls/s: the median of the per-round ratios).
const settings = quick
  ? {
      calls: 300,
      pacedCalls: 60,
      cartWarmupMs: 1000,
      cartMs: 3000,
      closedRounds: 1,
      pacedMs: 8000,
      linesCarts: 10,
      linesAdds: 3,
    }
  : {
      calls: 1000,
      pacedCalls: 200,
      cartWarmupMs: 2000,
      cartMs: 6000,
      closedRounds: 3,
      pacedMs: 40_000,
      linesCarts: 40,
      linesAdds: 5,
    };
const modes = ["back-to-back", "closed-loop", "paced"] as const;
type CartMode = (typeof modes)[number];
/** " 2" for the second closed-loop round when there are several; "" otherwise. */
const roundLabel = (mode: CartMode, round: number) =>
  mode === "closed-loop" && settings.closedRounds > 1 ? ` ${round}` : "";
const terminals = 20;
const think: [number, number] = [500, 1500];

function runChild<T>(entry: string, spec: object, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, JSON.stringify(spec)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${path.basename(entry)} exited with ${code}: ${err.slice(-800)}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "null") as T);
    });
  });
}

const say = (line: string) => process.stderr.write(`bench:client: ${line}\n`);
const f2 = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(2));
const us = (n: number | undefined) => (n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
const x = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? "–" : `${(a / b).toFixed(2)}×`;

/** Bare rows measured right before one transport's fast case of one mode: its floor, same minutes. */
interface NearFloor {
  wire: string;
  mode: "back-to-back" | "paced";
  rows: FloorRow[];
}

interface CartRow {
  wire: string;
  /** "fast" / "connect-node" on today's build; the commit for the baseline's rows (connect-node underneath). */
  client: ClientKind | typeof noBatching | `build ${string}`;
  mode: CartMode;
  /** 1-based; closed loop has settings.closedRounds rounds, the other modes one. */
  round: number;
  result: ClientResult;
}

async function main(): Promise<void> {
  const began = Date.now();
  await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(repoRoot, "scripts/build.ts")], {
    cwd: repoRoot,
  });
  const running = new Set<RunningServer>();
  const start = async (name: string, entry: string, env: Record<string, string>) => {
    const s = await startServer(name, entry, env);
    running.add(s);
    return s;
  };
  const stop = async (s: RunningServer) => {
    running.delete(s);
    await s.stop();
  };
  const floor: FloorRow[] = [];
  const carts: CartRow[] = [];
  const lines: LinesResult[] = [];
  const near: NearFloor[] = [];
  try {
    const md = await start("master-data", entries.masterData, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info" });

    say(`client floor: ${settings.calls} calls back to back, ${settings.pacedCalls} paced, per client`);
    const kinds: FloorKind[] = ["bare-h1", "bare-h2"];
    for (const w of wires) for (const client of clients) kinds.push({ client, wire: w.wire });
    const floorSpec: FloorSpec = {
      scenario: "floor",
      baseUrl: md.url,
      masterDataPid: md.pid,
      kinds,
      calls: settings.calls,
      pacedCalls: settings.pacedCalls,
      pacedGapMs: [20, 60],
      headers: benchCredential,
    };
    floor.push(...(await runChild<FloorRow[]>(entries.floorClient, floorSpec, 30 * 60_000)));

    // This machine's speed drifts between minutes (bench/README.md), so each transport's fast case
    // is compared with bare rows measured right before it, not only with the floor at the start:
    // the bare request of its HTTP version, and for paced also HTTP/2's (the terminal's hop to cart).
    const probeFloor = async (w: (typeof wires)[number], mode: NearFloor["mode"]): Promise<void> => {
      const kinds: FloorKind[] =
        w.wire.httpVersion === "2" ? ["bare-h2"] : mode === "paced" ? ["bare-h1", "bare-h2"] : ["bare-h1"];
      say(`floor next to ${w.name}, ${mode}: ${kinds.join(", ")}`);
      const rows = await runChild<FloorRow[]>(
        entries.floorClient,
        { ...floorSpec, kinds, modes: [mode] } satisfies FloorSpec,
        10 * 60_000,
      );
      near.push({ wire: w.name, mode, rows });
    };

    // One cart case: a cart process of `cartEntry` calling master-data at `target`, loaded by the client.
    const cartCase = async (
      cartEntry: string,
      target: RunningServer,
      w: (typeof wires)[number],
      client: CartRow["client"],
      mode: CartMode,
      round: number,
    ): Promise<void> => {
      const of = roundLabel(mode, round) === "" ? "" : `/${settings.closedRounds}`;
      say(
        `cart → master-data ${w.name}, ${client}${client.startsWith("build") ? "" : " client"}, ${mode}${roundLabel(mode, round)}${of}`,
      );
      const cart = await start("cart", cartEntry, {
        CART_PORT: "0",
        LOG_LEVEL: "info",
        MASTER_DATA_URL: target.url,
        MASTER_DATA_PROTOCOL: w.wire.protocol,
        MASTER_DATA_HTTP_VERSION: w.wire.httpVersion,
        MASTER_DATA_FORMAT: w.wire.format,
        ...(client.startsWith("build")
          ? {}
          : client === noBatching
            ? { MASTER_DATA_CLIENT: "fast", MASTER_DATA_BATCHING: "false" }
            : { MASTER_DATA_CLIENT: client }),
        ITEM_CACHE_TTL_MS: "0",
      });
      const spec: CartSpec = {
        scenario: "cart",
        baseUrl: cart.url,
        // Back to back: one terminal, no think time, so a call's latency is its cost, not a queue.
        terminals: mode === "back-to-back" ? 1 : terminals,
        itemsPerSale: 20,
        thinkMs: mode === "paced" ? think : undefined,
        // Every mode warms up closed loop first (see load-client.ts): paced latency is a warm process's.
        warmupMs: settings.cartWarmupMs,
        durationMs: mode === "paced" ? settings.pacedMs : settings.cartMs,
        seed: 11,
        watchPids: { cart: cart.pid, masterData: target.pid },
        headers: benchCredential,
        statsUrl: `${cart.url}/stats/master-data`,
      };
      const result = await runNodeClient(
        entries.loadClient,
        spec,
        () => undefined,
        () => undefined,
        spec.warmupMs + spec.durationMs + 90_000,
      );
      carts.push({ wire: w.name, client, mode, round, result });
      await stop(cart);
    };

    // The old build's cases right before today's of the same transport: the ratios span minutes, not the whole run.
    const old: BaselineBuild | undefined =
      baselineRev === undefined ? undefined : await prepareBaseline(baselineRev, say);
    const oldMd =
      old === undefined
        ? undefined
        : await start("master-data", old.masterDataEntry, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info" });
    for (const w of wires) {
      for (const mode of modes) {
        for (let round = 1; round <= (mode === "closed-loop" ? settings.closedRounds : 1); round++) {
          if (old !== undefined && oldMd !== undefined) {
            await cartCase(old.cartEntry, oldMd, w, `build ${old.rev}`, mode, round);
          }
          for (const client of mode === "closed-loop" ? [...clients, noBatching] : clients) {
            if (client === "fast" && mode !== "closed-loop") await probeFloor(w, mode);
            await cartCase(entries.cart, md, w, client, mode, round);
          }
        }
      }
    }
    if (oldMd !== undefined) await stop(oldMd);

    for (const prefill of [1, 200]) {
      say(`AddLineItems on carts of ${prefill} line(s), one call at a time`);
      const cart = await start("cart", entries.cart, {
        CART_PORT: "0",
        LOG_LEVEL: "info",
        MASTER_DATA_URL: md.url,
        ITEM_CACHE_TTL_MS: "0",
      });
      const spec: LinesSpec = {
        scenario: "lines",
        baseUrl: cart.url,
        cartPid: cart.pid,
        masterDataPid: md.pid,
        prefill,
        carts: settings.linesCarts,
        addsPerCart: settings.linesAdds,
        headers: benchCredential,
      };
      lines.push(await runChild<LinesResult>(entries.floorClient, spec, 10 * 60_000));
      await stop(cart);
    }
    await stop(md);
  } finally {
    await Promise.all([...running].map((s) => s.stop()));
  }

  const md = report(floor, near, carts, lines, (Date.now() - began) / 1000);
  const dir = path.join(repoRoot, "bench/results");
  await mkdir(dir, { recursive: true });
  const name = quick ? "client-quick" : "client-latest";
  await writeFile(path.join(dir, `${name}.md`), `${md}\n`);
  await writeFile(path.join(dir, `${name}.json`), `${JSON.stringify({ floor, near, carts, lines }, null, 2)}\n`);
  process.stdout.write(`${md}\n`);
  const errors =
    floor.reduce((n, r) => n + r.errors, 0) +
    carts.reduce((n, r) => n + r.result.errors, 0) +
    lines.reduce((n, r) => n + r.errors, 0);
  if (errors > 0) {
    say(`${errors} errors`);
    process.exit(1);
  }
  process.exit(0);
}

function report(floor: FloorRow[], near: NearFloor[], carts: CartRow[], lines: LinesResult[], wallS: number): string {
  const out: string[] = [];
  const load = os.loadavg().map((l) => l.toFixed(1));
  out.push(
    `## cart's client side — ${new Date().toISOString()}, ${os.cpus().length} cores, Node ${process.version}, load average at the end ${load.join(" / ")}, ${Math.round(wallS)} s`,
    "",
    "### The floor and each client: BatchGetItemDetails (1 code) to master-data, one call at a time",
    "",
    "Paced: 20–60 ms idle before each call. CPU µs/call: the client process (all its work for the call) and master-data.",
    "",
    "| client | mode | p50 ms | p99 ms | vs bare p50 | client CPU µs/call | vs bare | master-data CPU µs/call | errors |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const bare = (kind: string, mode: string) => {
    const h2 = /HTTP\/2/.test(kind);
    return floor.find((r) => r.mode === mode && r.kind.startsWith(h2 ? "bare node:http2" : "bare node:http ("));
  };
  /** The bare row measured next to this transport's case (same minutes), else the one at the start. */
  const bareNear = (wire: string, mode: NearFloor["mode"], h2 = /HTTP\/2/.test(wire)) =>
    near
      .find((n) => n.wire === wire && n.mode === mode)
      ?.rows.find((r) => r.kind.startsWith(h2 ? "bare node:http2" : "bare node:http (")) ??
    bare(h2 ? "HTTP/2" : "HTTP/1.1", mode);
  for (const r of floor) {
    const b = r.kind.startsWith("bare") ? undefined : bare(r.kind, r.mode);
    out.push(
      `| ${r.kind} | ${r.mode} | ${f2(r.latency.p50Ms)} | ${f2(r.latency.p99Ms)} | ${x(r.latency.p50Ms, b?.latency.p50Ms)} | ${us(r.clientCpuUsPerCall)} | ${x(r.clientCpuUsPerCall, b?.clientCpuUsPerCall)} | ${us(r.serverCpuUsPerCall)} | ${r.errors} |`,
    );
  }
  if (near.length > 0) {
    out.push(
      "",
      "### The floor next to each case: the same bare requests, measured right before that transport's fast case",
      "",
      "| next to | mode | bare request | p50 ms | p99 ms | client CPU µs/call | master-data CPU µs/call | errors |",
      "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const n of near) {
      for (const r of n.rows) {
        out.push(
          `| ${n.wire} | ${n.mode} | ${r.kind} | ${f2(r.latency.p50Ms)} | ${f2(r.latency.p99Ms)} | ${us(r.clientCpuUsPerCall)} | ${us(r.serverCpuUsPerCall)} | ${r.errors} |`,
        );
      }
    }
  }
  out.push(
    "",
    `### cart end to end: sale = CreateCart, 20 × AddLineItems, Subtotal, AddPayments, Bill; item cache off`,
    "",
    `back-to-back: 1 terminal, no think time, ${settings.cartMs / 1000} s; closed-loop: ${terminals} terminals, no think time (throughput, CPU per call), ${settings.cartMs / 1000} s${settings.closedRounds > 1 ? `, ${settings.closedRounds} rounds (closed-loop 1, 2, …), each round every build and client in turn` : ""}; paced: ${terminals} terminals, ${think[0]}–${think[1]} ms think time before each call, ${settings.pacedMs / 1000} s.`,
    "",
    "Every case warms up closed loop first (2 s; paced too, so paced latency is a warm process's). master-data inside cart: cart's own histogram over the measured window (p50 is a bucket bound, ±5 %; the old build reports no buckets: its p50 is since start, warm-up included, ±10 %); its floor (vs bare) is the bare row of the same HTTP version and mode measured right before that transport's fast case (the table above).",
    "",
    `"build REV": the whole system (its master-data and cart, connect-node client) at that commit, in this run; "vs build" compares today's row of the same transport and mode with it.`,
    "",
    "| cart → master-data | client | mode | cart calls/s | cart p50 ms | p99 ms | errors | md call inside cart p50 ms | vs bare | md calls per cart call | cart CPU µs/call | master-data CPU µs/call | calls/s vs connect-node | calls/s vs build | cart CPU vs build |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const rpsOf = (r: ClientResult | undefined) => (r && r.windowMs > 0 ? r.requests / (r.windowMs / 1000) : undefined);
  const cartCpuOf = (r: ClientResult | undefined) => (r ? cpuPerRequestUs(r.cpuMs.cart ?? 0, r.requests) : undefined);
  for (const c of carts) {
    const r = c.result;
    const rps = rpsOf(r);
    const same = (client: (o: CartRow) => boolean) =>
      carts.find((o) => o.wire === c.wire && o.mode === c.mode && o.round === c.round && client(o))?.result;
    const old = c.client.startsWith("build") ? undefined : same((o) => o.client.startsWith("build"));
    const otherRps = rpsOf(same((o) => o.client === "connect-node"));
    const b = bareNear(c.wire, c.mode === "paced" ? "paced" : "back-to-back");
    const floorNote = c.mode === "closed-loop" ? "(queued)" : x(r.masterData?.p50Ms, b?.latency.p50Ms);
    out.push(
      `| ${c.wire} | ${c.client} | ${c.mode}${roundLabel(c.mode, c.round)} | ${Math.round(rps ?? 0)} | ${f2(r.latency.p50Ms)} | ${f2(r.latency.p99Ms)} | ${r.errors} | ${f2(r.masterData?.p50Ms)} | ${floorNote} | ${f2(mdCallsPerCartCall(r))} | ${us(cartCpuOf(r))} | ${us(cpuPerRequestUs(r.cpuMs.masterData ?? 0, r.requests))} | ${c.client === "fast" ? x(rps, otherRps) : "–"} | ${x(rps, rpsOf(old))} | ${x(cartCpuOf(r), cartCpuOf(old))} |`,
    );
  }
  out.push("", ...batchingShare(carts));
  out.push(
    "",
    "### AddLineItems (1 item) on long carts, one call at a time (gRPC to cart, fast gRPC client to master-data)",
    "",
    "| lines before | calls | p50 ms | p99 ms | vs 1 line | cart CPU µs/call | vs 1 line | master-data CPU µs/call | errors |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const one = lines.find((l) => l.prefill === 1);
  for (const l of lines) {
    out.push(
      `| ${l.prefill} | ${l.calls} | ${f2(l.latency.p50Ms)} | ${f2(l.latency.p99Ms)} | ${x(l.latency.p50Ms, one?.latency.p50Ms)} | ${us(l.cartCpuUsPerCall)} | ${x(l.cartCpuUsPerCall, one?.cartCpuUsPerCall)} | ${us(l.masterDataCpuUsPerCall)} | ${l.errors} |`,
    );
  }
  out.push("", ...goals(carts, lines, bareNear));
  return out.join("\n");
}

/**
 * Issue 8's goals, judged on this run's rows for cart's default client ("fast"), one line per
 * goal and transport: the ratio or number, the bound, and whether it holds.
 */
function goals(
  carts: CartRow[],
  lines: LinesResult[],
  bare: (wire: string, mode: NearFloor["mode"], h2?: boolean) => FloorRow | undefined,
): string[] {
  const out = [
    "### Goals (issue 8), on this run's rows, cart's default client (fast)",
    "",
    "| goal | transport | measured | bound | met |",
    "| --- | --- | ---: | ---: | :-: |",
  ];
  const row = (goal: string, wire: string, value: number | undefined, bound: number, unit: string, below = true) => {
    const met = value !== undefined && (below ? value <= bound : value >= bound);
    // Ratios "1.23×", times "4.12 ms", counts (no unit) as whole numbers.
    const suffix = unit === "×" ? "×" : unit === "" ? "" : ` ${unit}`;
    const shown = value === undefined ? "–" : unit === "" ? String(value) : `${value.toFixed(2)}${suffix}`;
    out.push(`| ${goal} | ${wire} | ${shown} | ${below ? "≤" : "≥"} ${bound}${suffix} | ${met ? "yes" : "**no**"} |`);
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  const findAll = (wire: string, client: CartRow["client"] | "build", mode: CartMode) =>
    carts.filter(
      (c) =>
        c.wire === wire && c.mode === mode && (client === "build" ? c.client.startsWith("build") : c.client === client),
    );
  const find = (wire: string, client: CartRow["client"] | "build", mode: CartMode) =>
    findAll(wire, client, mode)[0]?.result;
  const rps = (r: ClientResult | undefined) => (r && r.windowMs > 0 ? r.requests / (r.windowMs / 1000) : undefined);
  for (const w of wires) {
    for (const mode of ["back-to-back", "paced"] as const) {
      const r = find(w.name, "fast", mode);
      row(
        `master-data call inside cart p50 vs bare, ${mode}`,
        w.name,
        ratio(r?.masterData?.p50Ms, bare(w.name, mode)?.latency.p50Ms),
        1.5,
        "×",
      );
    }
  }
  const rounds = settings.closedRounds > 1 ? `, median of ${settings.closedRounds} rounds` : "";
  for (const w of wires) {
    const ours = findAll(w.name, "fast", "closed-loop");
    const old = findAll(w.name, "build", "closed-loop");
    row(
      `closed loop: cart CPU per cart call${rounds}`,
      w.name,
      medianOf(ours.map((c) => cpuPerRequestUs(c.result.cpuMs.cart ?? 0, c.result.requests))),
      400,
      "µs",
    );
    // Each round's ratio against the old build's run of the same round (minutes apart at most).
    row(
      `closed loop: cart calls/s vs the old build${rounds}`,
      w.name,
      medianOf(ours.map((c) => ratio(rps(c.result), rps(old.find((o) => o.round === c.round)?.result)))),
      3,
      "×",
      false,
    );
  }
  for (const w of wires) {
    const r = find(w.name, "fast", "paced");
    // Two hops: the terminal → cart (gRPC, HTTP/2) and cart → master-data (this transport's HTTP version).
    const hops =
      (bare(w.name, "paced", true)?.latency.p50Ms ?? Number.NaN) + (bare(w.name, "paced")?.latency.p50Ms ?? Number.NaN);
    row(
      "paced: cart p50 vs two bare hops",
      w.name,
      ratio(r?.latency.p50Ms, Number.isNaN(hops) ? undefined : hops),
      2,
      "×",
    );
    row("paced: cart p99", w.name, r?.latency.p99Ms, 10, "ms");
    row("paced: errors", w.name, r?.errors, 0, "");
  }
  const one = lines.find((l) => l.prefill === 1);
  const long = lines.find((l) => l.prefill === 200);
  row(
    "AddLineItems p50, 200-line cart vs 1-line",
    "gRPC, HTTP/2",
    ratio(long?.latency.p50Ms, one?.latency.p50Ms),
    1.5,
    "×",
  );
  row(
    "AddLineItems cart CPU, 200-line cart vs 1-line",
    "gRPC, HTTP/2",
    ratio(long?.cartCpuUsPerCall, one?.cartCpuUsPerCall),
    1.5,
    "×",
  );
  return out;
}

/**
 * What batching concurrent lookups (item-batcher.ts) changes in the closed loop: the fast client
 * with it (the default) and without it, medians over the rounds.
 */
function batchingShare(carts: CartRow[]): string[] {
  const out = [
    "### Batching's share: closed loop, the fast client with cart's batching of concurrent lookups on (default) and off",
    "",
    "| cart → master-data | md calls per cart call, on | off | cart CPU µs/call, on | off | on vs off | master-data CPU µs/call, on | off |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const of = (wire: string, client: CartRow["client"]) =>
    carts.filter((c) => c.wire === wire && c.mode === "closed-loop" && c.client === client).map((c) => c.result);
  const mdCalls = (rs: ClientResult[]) => medianOf(rs.map(mdCallsPerCartCall));
  const cpu = (rs: ClientResult[], who: "cart" | "masterData") =>
    medianOf(rs.map((r) => cpuPerRequestUs(r.cpuMs[who] ?? 0, r.requests)));
  for (const w of wires) {
    const on = of(w.name, "fast");
    const off = of(w.name, noBatching);
    if (off.length === 0) continue;
    out.push(
      `| ${w.name} | ${f2(mdCalls(on))} | ${f2(mdCalls(off))} | ${us(cpu(on, "cart"))} | ${us(cpu(off, "cart"))} | ${x(cpu(on, "cart"), cpu(off, "cart"))} | ${us(cpu(on, "masterData"))} | ${us(cpu(off, "masterData"))} |`,
    );
  }
  return out;
}

/** master-data calls cart made per cart call in the window (cart's own count); undefined without one. */
function mdCallsPerCartCall(r: ClientResult): number | undefined {
  return r.masterData === undefined || r.requests === 0 ? undefined : r.masterData.windowCount / r.requests;
}

/** The median of the measured values; undefined when none was measured. */
function medianOf(values: Array<number | undefined>): number | undefined {
  const measured = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return measured.length === 0 ? undefined : median(measured);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:client failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
