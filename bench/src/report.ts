import type { MachineFacts } from "./machine.js";
import type { CaseResult } from "./results.js";

export interface RunMeta {
  date: string;
  command: string;
  mode: "quick" | "full";
  machine: MachineFacts;
  settings: {
    levels: number[];
    warmupMs: number;
    durationMs: number;
    cartTerminals: number;
    cartWarmupMs: number;
    cartDurationMs: number;
    pacedDurationMs: number;
    thinkMs: [number, number];
    itemsPerSale: number;
  };
  /** External tools that were not available, and why: their rows are missing from the tables. */
  skipped: { tool: string; reason: string }[];
  wallSeconds: number;
}

export interface BenchReport {
  meta: RunMeta;
  cases: CaseResult[];
}

const f = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v)
    ? "–"
    : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (v: number | undefined): string => (v === undefined ? "–" : v < 10 ? f(v, 2) : v < 100 ? f(v, 1) : f(v, 0));
const x = (v: number | undefined): string => (v === undefined ? "–" : `${f(v, 2)}×`);
const errs = (r: CaseResult): string =>
  !r.ran ? "**did not run**" : r.errors === 0 ? "0" : `**${r.errors}** (${f(r.errorRate * 100, 2)} %)`;

export function markdownReport(report: BenchReport): string {
  const { meta, cases } = report;
  const m = meta.machine;
  const lines: string[] = [];
  lines.push(`### Benchmark run ${meta.date} (${meta.mode})`);
  lines.push("");
  lines.push(
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, ${m.kernel}, Node ${m.node}, load average at start ${m.loadAverageAtStart.join(" / ")}; commit ${m.gitCommit}.`,
  );
  lines.push(
    `Tools: ${
      Object.entries(m.tools)
        .map(([k, v]) => `${k} (${v})`)
        .join(", ") || "none"
    }.`,
  );
  lines.push(`Command: \`${meta.command}\` — ${Math.round(meta.wallSeconds)} s wall time.`);
  lines.push("");
  lines.push(
    `**Client and server share the same ${m.cores} cores**, so absolute req/s is what is left after the load generator took its share. ` +
      "Read the CPU-per-request columns (each process's own kernel CPU accounting over the measured window, divided by the requests completed in it) " +
      "and the ratios against the peer measured right before, in the same run, with the same client and concurrency.",
  );
  for (const s of meta.skipped) lines.push(`\n> **Skipped: ${s.tool}** — ${s.reason}. Its rows are missing below.`);
  lines.push("");
  const s = meta.settings;
  lines.push(
    `Direct cases: ${s.warmupMs / 1000} s warm-up, then ${s.durationMs / 1000} s measured, closed loop at each concurrency (${s.levels.join(", ")}); random demo item codes (seeded).`,
  );

  const direct = cases.filter((r) => r.kind === "direct");
  for (const c of s.levels) {
    const rows = direct.filter((r) => r.concurrency === c);
    if (rows.length === 0) continue;
    lines.push("");
    lines.push(`#### master-data and peers, concurrency ${c}`);
    lines.push("");
    lines.push(
      "| server | RPC | transport | load generator | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/req | client CPU µs/req | server peak RSS MB | req/s vs peer | server CPU vs peer | server CPU vs floor |",
    );
    lines.push("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const r of rows) {
      lines.push(
        `| ${r.server} | ${r.rpc} | ${r.transport} | ${r.loadgen} | ${f(r.rps)} | ${ms(r.latency.p50Ms)} | ${ms(r.latency.p90Ms)} | ${ms(r.latency.p99Ms)} | ${ms(r.latency.maxMs)} | ${errs(r)} | ${f(r.serverCpuUsPerReq)} | ${f(r.clientCpuUsPerReq)} | ${f(r.serverPeakRssMb)} | ${x(r.vsBaseline?.rps)} | ${x(r.vsBaseline?.serverCpuPerReq)} | ${x(r.vsFloor?.serverCpuPerReq)} |`,
      );
    }
  }

  const cart = cases.filter((r) => r.kind === "cart");
  if (cart.length > 0) {
    lines.push("");
    lines.push(
      `#### cart end to end: ${s.cartTerminals} terminals, each sale = CreateCart, ${s.itemsPerSale} × AddLineItems (one random item each), Subtotal, AddPayments (cash), Bill`,
    );
    lines.push("");
    lines.push(
      `cart's item cache is OFF (ITEM_CACHE_TTL_MS=0), so every AddLineItems makes one master-data call (BatchGetItemDetails with one code). ` +
        `Closed loop: ${s.cartWarmupMs / 1000} s warm-up + ${s.cartDurationMs / 1000} s, no think time. ` +
        `Paced: each terminal waits ${s.thinkMs[0]}–${s.thinkMs[1]} ms (uniform) before every call, ${s.pacedDurationMs / 1000} s. ` +
        "\"master-data inside cart\" is cart's own histogram of its calls (GET /stats/master-data): mean over the measured window; p50/p99 are bucket bounds (±10 %) over the case (cart restarts per case; closed-loop includes its warm-up). The seeds' target for that call was 2–5 ms.",
    );
    lines.push("");
    lines.push(
      "| cart → master-data | mode | sales/s | cart calls/s | cart p50 ms | p90 | p99 | max | AddLineItems p50 / p99 ms | master-data inside cart: mean / p50 / p99 ms | errors | cart CPU µs/call | master-data CPU µs/call | client CPU µs/call | cart RSS MB | calls/s vs JSON/1.1 | CPU/call vs JSON/1.1 |",
    );
    lines.push("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const r of cart) {
      const c = r.cart;
      const md = c?.masterData;
      lines.push(
        `| ${r.transport} | ${r.mode} | ${f(c?.salesPerS, 1)} | ${f(r.rps)} | ${ms(r.latency.p50Ms)} | ${ms(r.latency.p90Ms)} | ${ms(r.latency.p99Ms)} | ${ms(r.latency.maxMs)} | ${ms(c?.addLineItems?.p50Ms)} / ${ms(c?.addLineItems?.p99Ms)} | ${ms(md?.windowMeanMs)} / ${ms(md?.p50Ms)} / ${ms(md?.p99Ms)} | ${errs(r)} | ${f(c?.cartCpuUsPerCall)} | ${f(c?.masterDataCpuUsPerCall)} | ${f(r.clientCpuUsPerReq)} | ${f(r.serverPeakRssMb)} | ${x(r.vsBaseline?.rps)} | ${x(r.vsBaseline?.serverCpuPerReq)} |`,
      );
    }
  }

  const notes = [...new Set(cases.flatMap((r) => r.notes))];
  if (notes.length > 0) {
    lines.push("");
    lines.push(
      "Correctness checks: the Node client checks every answer (the item code asked for, all 20 codes of a batch, every step of a sale); " +
        notes.join("; ") +
        ".",
    );
  }
  const bad = cases.filter((r) => !r.ran || r.errors > 0 || r.requests === 0);
  if (bad.length > 0) {
    lines.push("");
    lines.push("#### Problems");
    for (const r of bad) {
      lines.push(
        `- \`${r.id}\`: ${r.failure ?? `${r.errors} errors of ${r.requests}`}${r.errorSamples.length > 0 ? ` — e.g. ${r.errorSamples.join(" | ")}` : ""}`,
      );
    }
  }
  return lines.join("\n");
}
