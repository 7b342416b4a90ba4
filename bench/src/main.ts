import { summaryLine } from "./case-result.js";
import { cartCases, directCases, type ExternalTool, type ServerKind, transportLabels } from "./cases.js";
import { commandLine, type Options, parseOptions } from "./cli.js";
import { machineFacts } from "./machine.js";
import { entries } from "./paths.js";
import { type RunningServer, startServer } from "./processes.js";
import { createProgress, type Progress } from "./progress.js";
import type { RunMeta } from "./report.js";
import { type CaseResult, compareWithBaselines, failedCases } from "./results.js";
import { runCartCase } from "./run-cart.js";
import { describeDirect, runDirectCase } from "./run-direct.js";
import { findTools, prepareToolInputs, type ToolInputs } from "./tool-inputs.js";
import { writeReport } from "./write-report.js";

// The orchestrator: picks the cases, starts the servers under test (each its own process), runs the
// cases in order, writes the report; exits 1 when any case had an error or did not run.

/** Servers started by this run, so that every exit path stops them. */
function createServers() {
  const running = new Set<RunningServer>();
  return {
    async start(name: string, entry: string, env: Record<string, string>) {
      const s = await startServer(name, entry, env);
      running.add(s);
      return s;
    },
    async stop(...servers: RunningServer[]) {
      for (const s of servers) running.delete(s);
      await Promise.all(servers.map((s) => s.stop()));
    },
    async stopAll() {
      await this.stop(...running);
    },
  };
}
type Servers = ReturnType<typeof createServers>;

async function runDirect(
  o: Options,
  tools: Partial<Record<ExternalTool, string>>,
  inputs: ToolInputs,
  servers: Servers,
  progress: Progress,
  results: CaseResult[],
): Promise<void> {
  const cases = directCases(o.levels, new Set(Object.keys(tools) as ExternalTool[]));
  progress.note(
    "bench: starting master-data, the peers (grpc-js, plain Fastify) and the floors (bare node:http, node:http2), each in its own process",
  );
  // All stay up, idle when not under load, so that ours and its peer run back to back.
  const [md, mdConnectEs, grpcJs, fastify, floor1, floor2] = await Promise.all([
    servers.start("master-data", entries.masterData, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info" }),
    servers.start("master-data-connect-es", entries.masterData, {
      MASTER_DATA_PORT: "0",
      LOG_LEVEL: "info",
      UNARY_FAST_PATH: "false",
    }),
    servers.start("grpc-js", entries.grpcJs, { PEER_PORT: "0" }),
    servers.start("fastify-json", entries.fastifyJson, { PEER_PORT: "0" }),
    servers.start("floor-http1", entries.floor, { PEER_PORT: "0", FLOOR_HTTP: "1.1" }),
    servers.start("floor-http2", entries.floor, { PEER_PORT: "0", FLOOR_HTTP: "2" }),
  ]);
  const byKind: Record<ServerKind, RunningServer> = {
    "master-data": md,
    "master-data-connect-es": mdConnectEs,
    "grpc-js": grpcJs,
    "fastify-json": fastify,
    "floor-http1": floor1,
    "floor-http2": floor2,
  };
  for (const c of cases) {
    const d = describeDirect(c);
    progress.start(`${d.server} · ${d.rpc} · ${d.transport} · ${d.loadgen} · c=${c.concurrency}`);
    const r = await runDirectCase(c, byKind[c.server], o, tools, inputs, progress);
    results.push(r);
    progress.finish(summaryLine(r));
  }
  await servers.stop(md, mdConnectEs, grpcJs, fastify, floor1, floor2);
}

async function runCart(o: Options, servers: Servers, progress: Progress, results: CaseResult[]): Promise<void> {
  const cases = cartCases(o.terminals, o.paced);
  progress.note(
    "bench: starting master-data for cart; cart restarts once per case (ITEM_CACHE_TTL_MS=0: no item cache)",
  );
  const md = await servers.start("master-data", entries.masterData, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info" });
  // Grouped by transport; a fresh cart per case: its master-data latency histogram then covers this case only.
  for (const t of [...new Set(cases.map((c) => c.transport))]) {
    for (const c of cases.filter((x) => x.transport === t)) {
      progress.start(
        `cart → master-data ${transportLabels[t.name]} · ${c.paced ? "paced" : "closed loop"} · ${c.terminals} terminals`,
      );
      const cart = await servers.start("cart", entries.cart, {
        CART_PORT: "0",
        LOG_LEVEL: "info",
        MASTER_DATA_URL: md.url,
        MASTER_DATA_PROTOCOL: t.protocol,
        MASTER_DATA_HTTP_VERSION: t.httpVersion,
        MASTER_DATA_FORMAT: t.format,
        ITEM_CACHE_TTL_MS: "0",
      });
      const r = await runCartCase(c, cart, md, o, progress);
      await servers.stop(cart);
      results.push(r);
      progress.finish(summaryLine(r));
    }
  }
  await servers.stop(md);
}

async function main(): Promise<void> {
  const began = Date.now();
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  const { paths: tools, skipped } = findTools();
  for (const s of skipped) process.stderr.write(`bench: SKIPPING ${s.tool}: ${s.reason}\n`);
  const inputs = await prepareToolInputs();
  const machine = machineFacts(tools);
  process.stderr.write(
    `bench: ${machine.cores} cores shared by servers and load generators (${machine.cpuModel}), Node ${machine.node}; ${o.quick ? "quick run" : "full run"}\n`,
  );

  const caseCount =
    (o.direct ? directCases(o.levels, new Set(Object.keys(tools) as ExternalTool[])).length : 0) +
    (o.cart ? cartCases(o.terminals, o.paced).length : 0);
  const progress = createProgress(caseCount);
  const results: CaseResult[] = [];
  const servers = createServers();
  process.on("SIGINT", () => void servers.stopAll().then(() => process.exit(130)));
  try {
    if (o.direct) await runDirect(o, tools, inputs, servers, progress, results);
    if (o.cart) await runCart(o, servers, progress, results);
  } finally {
    await servers.stopAll();
  }

  // Cases in report order: direct as run, cart grouped by mode.
  results.sort((a, b) => (a.kind === b.kind && a.kind === "cart" ? a.mode.localeCompare(b.mode) : 0));
  compareWithBaselines(results);
  const meta: RunMeta = {
    date: new Date().toISOString(),
    command: commandLine(argv),
    mode: o.quick ? "quick" : "full",
    machine,
    settings: {
      levels: o.levels,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      cartTerminals: o.terminals,
      cartWarmupMs: o.cartWarmupMs,
      cartDurationMs: o.cartDurationMs,
      pacedDurationMs: o.pacedDurationMs,
      thinkMs: o.thinkMs,
      itemsPerSale: o.itemsPerSale,
    },
    skipped,
    wallSeconds: (Date.now() - began) / 1000,
  };
  await writeReport({ meta, cases: results }, o);

  const failed = failedCases(results);
  if (failed.length > 0) {
    process.stderr.write(
      `bench: ${failed.length} case(s) had errors or did not run:\n${failed.map((r) => `  ${r.id}: ${r.failure ?? `${r.errors} errors`}`).join("\n")}\n`,
    );
    process.exit(1);
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
