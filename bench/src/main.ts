import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { toJson } from "@bufbuild/protobuf";
import {
  file_pos_masterdata_v1_item_service,
  GetItemDetailRequestSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import {
  type CartCase,
  cartCases,
  type DirectCase,
  directCases,
  type ExternalTool,
  loadgenLabel,
  rpcLabels,
  type ServerKind,
  serverLabels,
  transportLabels,
} from "./cases.js";
import { chartSpec, renderSvg } from "./chart.js";
import type { CartSpec, ClientResult, DirectSpec } from "./client-spec.js";
import { descriptorSet } from "./descriptor-set.js";
import { machineFacts } from "./machine.js";
import { cpuDeltaMs, readCpu, readMemory, sampleRss } from "./proc-stats.js";
import { childPids, type RunningServer, runNodeClient, runTool, startServer } from "./processes.js";
import { createProgress, type Progress } from "./progress.js";
import { type BenchReport, markdownReport, type RunMeta } from "./report.js";
import {
  type BodyEncoding,
  encodeGetItemBody,
  getItemPath,
  getItemRequest,
  headersFor,
  randomItemCode,
  seededRandom,
} from "./requests.js";
import { type CaseResult, compareWithBaselines, failedCases } from "./results.js";
import { cpuPerRequestUs } from "./stats.js";
import { ghzArgs, h2loadArgs, parseGhz, parseH2load, parseWrk, type ToolRun, wrkArgs, wrkScript } from "./tools.js";

// The orchestrator: starts the servers under test and the load generators as separate processes,
// measures each case, and writes the report (markdown on stdout, JSON + SVG under bench/results/).

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, "..");
const repoRoot = path.resolve(benchDir, "..");
const cacheDir = path.join(benchDir, ".cache");
const resultsDir = path.join(benchDir, "results");
const entries = {
  masterData: path.join(repoRoot, "services/master-data/src/main.ts"),
  cart: path.join(repoRoot, "services/cart/src/main.ts"),
  grpcJs: path.join(here, "serve-grpc-js.ts"),
  fastifyJson: path.join(here, "serve-fastify-json.ts"),
  client: path.join(here, "load-client.ts"),
};

interface Options {
  quick: boolean;
  levels: number[];
  warmupMs: number;
  durationMs: number;
  terminals: number;
  itemsPerSale: number;
  cartWarmupMs: number;
  cartDurationMs: number;
  pacedDurationMs: number;
  thinkMs: [number, number];
  direct: boolean;
  cart: boolean;
  paced: boolean;
  out: string;
}

const usage = `pnpm bench [--quick] [--levels=1,16,64] [--duration=5] [--warmup=2] [--terminals=20]
           [--cart-duration=10] [--paced-duration=30] [--think=500-1500] [--no-direct] [--no-cart] [--no-paced] [--out=NAME]`;

function parseOptions(argv: string[]): Options {
  const quick = argv.includes("--quick");
  const o: Options = quick
    ? {
        quick,
        levels: [8],
        warmupMs: 1000,
        durationMs: 2000,
        terminals: 20,
        itemsPerSale: 20,
        cartWarmupMs: 1000,
        cartDurationMs: 3000,
        pacedDurationMs: 3000,
        thinkMs: [20, 80],
        direct: true,
        cart: true,
        paced: true,
        out: "latest-quick",
      }
    : {
        quick,
        levels: [1, 16, 64],
        warmupMs: 2000,
        durationMs: 5000,
        terminals: 20,
        itemsPerSale: 20,
        cartWarmupMs: 3000,
        cartDurationMs: 10_000,
        pacedDurationMs: 30_000,
        thinkMs: [500, 1500],
        direct: true,
        cart: true,
        paced: true,
        out: "latest",
      };
  const seconds = (v: string, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of seconds ≥ 1, got "${v}"`);
    return n * 1000;
  };
  for (const arg of argv) {
    const [key, value = ""] = arg.split("=", 2);
    switch (key) {
      case "--quick":
        break;
      case "--levels":
        o.levels = value.split(",").map(Number);
        if (o.levels.some((l) => !Number.isInteger(l) || l < 1))
          throw new Error(`--levels must be positive integers, got "${value}"`);
        break;
      case "--duration":
        o.durationMs = seconds(value, key);
        break;
      case "--warmup":
        o.warmupMs = seconds(value, key);
        break;
      case "--terminals":
        o.terminals = Number(value);
        if (!Number.isInteger(o.terminals) || o.terminals < 1)
          throw new Error(`--terminals must be ≥ 1, got "${value}"`);
        break;
      case "--cart-duration":
        o.cartDurationMs = seconds(value, key);
        break;
      case "--paced-duration":
        o.pacedDurationMs = seconds(value, key);
        break;
      case "--think": {
        const [min, max] = value.split("-").map(Number);
        if (min === undefined || max === undefined || !(min >= 0 && max >= min))
          throw new Error(`--think must be MIN-MAX ms, got "${value}"`);
        o.thinkMs = [min, max];
        break;
      }
      case "--no-direct":
        o.direct = false;
        break;
      case "--no-cart":
        o.cart = false;
        break;
      case "--no-paced":
        o.paced = false;
        break;
      case "--out":
        if (!/^[A-Za-z0-9._-]+$/.test(value)) throw new Error(`--out must be a plain file name, got "${value}"`);
        o.out = value;
        break;
      default:
        throw new Error(`unknown argument "${arg}"\nusage: ${usage}`);
    }
  }
  return o;
}

/** Which native load generators are here; the missing ones are named in the report, not dropped silently. */
function findTools(): { paths: Partial<Record<ExternalTool, string>>; skipped: { tool: string; reason: string }[] } {
  const paths: Partial<Record<ExternalTool, string>> = {};
  const skipped: { tool: string; reason: string }[] = [];
  const which = (name: string): string | undefined => {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const hints: Record<ExternalTool, string> = {
    wrk: "not installed (bench/run.sh installs the Debian package `wrk` when run as root)",
    h2load: "not installed (bench/run.sh installs the Debian package `nghttp2-client` when run as root)",
    ghz: "not installed (bench/run.sh builds it into ~/go/bin with Go from /usr/local/go/bin)",
  };
  for (const tool of ["wrk", "h2load", "ghz"] as const) {
    const found =
      which(tool) ??
      (tool === "ghz" && existsSync(path.join(os.homedir(), "go/bin/ghz"))
        ? path.join(os.homedir(), "go/bin/ghz")
        : undefined);
    if (found === undefined) skipped.push({ tool, reason: hints[tool] });
    else paths[tool] = found;
  }
  return { paths, skipped };
}

/** Request bodies and scripts for the external tools, generated from the schema into bench/.cache. */
interface ToolInputs {
  wrkScripts: Partial<Record<BodyEncoding, string>>;
  h2loadBodies: Partial<Record<BodyEncoding, string>>;
  protoset: string;
  ghzData: string;
}

async function prepareToolInputs(): Promise<ToolInputs> {
  await mkdir(cacheDir, { recursive: true });
  const random = seededRandom(42);
  const requests = Array.from({ length: 1000 }, () => getItemRequest(randomItemCode(random)));
  const inputs: ToolInputs = {
    wrkScripts: {},
    h2loadBodies: {},
    protoset: path.join(cacheDir, "item_service.protoset"),
    ghzData: path.join(cacheDir, "get-item-requests.json"),
  };
  // What must be in a good answer: an item (its code), and for gRPC-Web an OK status trailer.
  const expect: Partial<Record<BodyEncoding, string[]>> = {
    "connect-json": ['"itemCode":"ITEM'],
    "connect-proto": ["ITEM"],
    "grpc-web": ["ITEM", "grpc-status: 0"],
  };
  for (const [encoding, mustContain] of Object.entries(expect) as [BodyEncoding, string[]][]) {
    const file = path.join(cacheDir, `wrk-${encoding}.lua`);
    await writeFile(
      file,
      wrkScript(
        getItemPath,
        headersFor(encoding),
        requests.map((r) => encodeGetItemBody(r, encoding)),
        mustContain,
      ),
    );
    inputs.wrkScripts[encoding] = file;
  }
  // h2load sends one body over and over: a fixed, known item.
  for (const encoding of ["grpc", "connect-proto"] as const) {
    const file = path.join(cacheDir, `h2load-${encoding}.bin`);
    await writeFile(file, encodeGetItemBody(getItemRequest("ITEM0042"), encoding));
    inputs.h2loadBodies[encoding] = file;
  }
  await writeFile(inputs.protoset, descriptorSet(file_pos_masterdata_v1_item_service));
  await writeFile(inputs.ghzData, JSON.stringify(requests.map((r) => toJson(GetItemDetailRequestSchema, r))));
  return inputs;
}

const mb = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);

function emptyResult(base: CaseBase, failure: string): CaseResult {
  return {
    ...base,
    ran: false,
    failure,
    requests: 0,
    errors: 0,
    errorRate: 0,
    errorSamples: [],
    windowMs: 0,
    rps: 0,
    latency: { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 },
    serverCpuMs: 0,
    clientCpuMs: 0,
    serverCpuUsPerReq: undefined,
    clientCpuUsPerReq: undefined,
    serverPeakRssMb: undefined,
    clientPeakRssMb: undefined,
    vsBaseline: undefined,
    cart: undefined,
  };
}

function describeDirect(c: DirectCase) {
  return {
    id: c.id,
    kind: "direct" as const,
    server: serverLabels[c.server],
    rpc: rpcLabels[c.rpc],
    transport: transportLabels[c.transport],
    loadgen: loadgenLabel(c.loadgen),
    concurrency: c.concurrency,
    mode: "closed-loop" as const,
    notes: [] as string[],
    baselineId: c.baselineId,
  };
}

async function runDirectCase(
  c: DirectCase,
  server: RunningServer,
  o: Options,
  tools: Partial<Record<ExternalTool, string>>,
  inputs: ToolInputs,
  progress: Progress,
): Promise<CaseResult> {
  const base = describeDirect(c);
  if (c.loadgen.kind === "node") {
    const spec: DirectSpec = {
      scenario: c.rpc,
      client: c.loadgen.client,
      baseUrl: server.url,
      concurrency: c.concurrency,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      seed: 7,
      watchPids: { server: server.pid },
    };
    let clientPid = 0;
    const rss = sampleRss(() => (clientPid === 0 ? [server.pid] : [server.pid, clientPid]));
    try {
      const r = await runNodeClient(
        entries.client,
        spec,
        (p) =>
          progress.update(
            `${p.phase === "warmup" ? "warming up" : "measuring"}: ${p.requests} calls, ${p.errors} errors`,
          ),
        (pid) => (clientPid = pid),
        o.warmupMs + o.durationMs + 60_000,
      );
      const peaks = rss.stop();
      return fromClient(
        base,
        r,
        r.cpuMs.server ?? 0,
        mb(peaks.get(server.pid)?.peakRssKb),
        mb(peaks.get(clientPid)?.peakRssKb),
      );
    } catch (e) {
      rss.stop();
      return emptyResult(base, (e as Error).message);
    }
  }

  const tool = c.loadgen.kind;
  const binary = tools[tool];
  if (binary === undefined) return emptyResult(base, `${tool} is not installed`);
  const statFile = path.join(cacheDir, `${tool}.stat`);
  const url = `${server.url}${getItemPath}`;
  const target = new URL(server.url).host;
  let ghzCount: number | undefined;
  const argsFor = (seconds: number, out: string): string[] => {
    switch (c.loadgen.kind) {
      case "wrk":
        return wrkArgs(url, inputs.wrkScripts[c.loadgen.encoding] ?? "", c.concurrency, seconds);
      case "h2load":
        return h2loadArgs(
          url,
          inputs.h2loadBodies[c.loadgen.encoding] ?? "",
          headersFor(c.loadgen.encoding),
          c.concurrency,
          seconds,
          out,
        );
      case "ghz":
        return ghzArgs(
          target,
          inputs.protoset,
          "pos.masterdata.v1.ItemService.GetItemDetail",
          inputs.ghzData,
          c.concurrency,
          ghzCount === undefined ? { durationS: seconds } : { count: ghzCount },
          out,
        );
      case "node":
        throw new Error("unreachable");
    }
  };
  const outFile = path.join(cacheDir, `${tool}-out.txt`);
  const ticker = (phase: string) => {
    const timer = setInterval(() => progress.update(phase), 1000);
    return () => clearInterval(timer);
  };
  try {
    let stop = ticker("warming up");
    const warm = await runTool(binary, argsFor(Math.max(1, Math.round(o.warmupMs / 1000)), outFile), statFile);
    stop();
    if (warm.code !== 0)
      throw new Error(`${tool} warm-up exited with ${warm.code}: ${(warm.stderr || warm.stdout).trim().slice(-500)}`);
    if (tool === "ghz") {
      const w = parseGhz(await readFile(outFile, "utf8"));
      ghzCount = Math.round((w.requests / Math.max(1, w.windowMs)) * o.durationMs);
    }
    await rm(outFile, { force: true });
    stop = ticker("measuring");
    let shPid = 0;
    const rss = sampleRss(() => [server.pid]);
    const toolRss = new Map<number, number>();
    const toolSampler = setInterval(() => {
      void childPids(shPid).then((pids) => {
        for (const pid of pids) {
          const status = readStatusKb(pid);
          if (status !== undefined) toolRss.set(pid, Math.max(toolRss.get(pid) ?? 0, status));
        }
      });
    }, 200);
    const before = readCpu(server.pid);
    const run = await runTool(
      binary,
      argsFor(Math.round(o.durationMs / 1000), outFile),
      statFile,
      (pid) => (shPid = pid),
    );
    const after = readCpu(server.pid);
    clearInterval(toolSampler);
    stop();
    const peaks = rss.stop();
    if (run.code !== 0)
      throw new Error(`${tool} exited with ${run.code}: ${(run.stderr || run.stdout).trim().slice(-500)}`);
    const measured: ToolRun =
      tool === "wrk"
        ? parseWrk(run.stdout)
        : tool === "h2load"
          ? parseH2load(run.stdout, await readFile(outFile, "utf8"))
          : parseGhz(await readFile(outFile, "utf8"));
    await rm(outFile, { force: true });
    const serverCpuMs = cpuDeltaMs(before, after);
    const toolPeak = Math.max(0, ...toolRss.values());
    return {
      ...base,
      notes: measured.notes,
      ran: true,
      failure: undefined,
      requests: measured.requests,
      errors: measured.errors,
      errorRate: measured.requests > 0 ? measured.errors / measured.requests : 0,
      errorSamples: measured.errors > 0 ? (measured.errorSamples ?? [`${tool}: ${measured.errors} failed`]) : [],
      windowMs: measured.windowMs,
      rps: measured.windowMs > 0 ? measured.requests / (measured.windowMs / 1000) : 0,
      latency: measured.latency,
      serverCpuMs,
      clientCpuMs: run.cpuMs,
      serverCpuUsPerReq: cpuPerRequestUs(serverCpuMs, measured.requests),
      clientCpuUsPerReq: cpuPerRequestUs(run.cpuMs, measured.requests),
      serverPeakRssMb: mb(peaks.get(server.pid)?.peakRssKb),
      clientPeakRssMb: toolPeak > 0 ? toolPeak / 1024 : undefined,
      vsBaseline: undefined,
      cart: undefined,
    };
  } catch (e) {
    return emptyResult(base, (e as Error).message);
  }
}

function readStatusKb(pid: number): number | undefined {
  return readMemory(pid)?.rssKb;
}

type CaseBase = Pick<
  CaseResult,
  "id" | "kind" | "server" | "rpc" | "transport" | "loadgen" | "concurrency" | "mode" | "notes" | "baselineId"
>;

function fromClient(
  base: CaseBase,
  r: ClientResult,
  serverCpuMs: number,
  serverPeakRssMb: number | undefined,
  clientPeakRssMb: number | undefined,
): CaseResult {
  const clientCpuMs = r.cpuMs.client ?? 0;
  return {
    ...base,
    ran: true,
    failure: undefined,
    requests: r.requests,
    errors: r.errors,
    errorRate: r.requests > 0 ? r.errors / r.requests : 0,
    errorSamples: r.errorSamples,
    windowMs: r.windowMs,
    rps: r.windowMs > 0 ? r.requests / (r.windowMs / 1000) : 0,
    latency: r.latency,
    serverCpuMs,
    clientCpuMs,
    serverCpuUsPerReq: cpuPerRequestUs(serverCpuMs, r.requests),
    clientCpuUsPerReq: cpuPerRequestUs(clientCpuMs, r.requests),
    serverPeakRssMb,
    clientPeakRssMb,
    vsBaseline: undefined,
    cart: undefined,
  };
}

async function runCartCase(
  c: CartCase,
  cart: RunningServer,
  masterData: RunningServer,
  o: Options,
  progress: Progress,
): Promise<CaseResult> {
  const base = {
    id: c.id,
    kind: "cart" as const,
    server: "cart",
    rpc: "sale",
    transport: transportLabels[c.transport.name],
    loadgen: "node (connect-es gRPC client)",
    concurrency: c.terminals,
    mode: c.paced ? ("paced" as const) : ("closed-loop" as const),
    notes: [] as string[],
    baselineId: c.baselineId,
  };
  const spec: CartSpec = {
    scenario: "cart",
    baseUrl: cart.url,
    terminals: c.terminals,
    itemsPerSale: o.itemsPerSale,
    thinkMs: c.paced ? o.thinkMs : undefined,
    warmupMs: c.paced ? 0 : o.cartWarmupMs,
    durationMs: c.paced ? o.pacedDurationMs : o.cartDurationMs,
    seed: 11,
    watchPids: { cart: cart.pid, masterData: masterData.pid },
    statsUrl: `${cart.url}/stats/master-data`,
  };
  let clientPid = 0;
  const rss = sampleRss(() => (clientPid === 0 ? [cart.pid, masterData.pid] : [cart.pid, masterData.pid, clientPid]));
  try {
    const r = await runNodeClient(
      entries.client,
      spec,
      (p) =>
        progress.update(
          `${p.phase === "warmup" ? "warming up" : "measuring"}: ${p.requests} cart calls, ${p.errors} errors`,
        ),
      (pid) => (clientPid = pid),
      spec.warmupMs + spec.durationMs + 90_000,
    );
    const peaks = rss.stop();
    const cartCpuMs = r.cpuMs.cart ?? 0;
    const masterDataCpuMs = r.cpuMs.masterData ?? 0;
    const result = fromClient(
      { ...base },
      r,
      cartCpuMs + masterDataCpuMs,
      mb(peaks.get(cart.pid)?.peakRssKb),
      mb(peaks.get(clientPid)?.peakRssKb),
    );
    result.cart = {
      sales: r.sales,
      salesPerS: r.windowMs > 0 ? r.sales / (r.windowMs / 1000) : 0,
      addLineItems: r.byCall.AddLineItems,
      masterData: r.masterData,
      cartCpuMs,
      masterDataCpuMs,
      cartCpuUsPerCall: cpuPerRequestUs(cartCpuMs, r.requests),
      masterDataCpuUsPerCall: cpuPerRequestUs(masterDataCpuMs, r.masterData?.windowCount ?? 0),
    };
    const adds = r.byCall.AddLineItems?.count ?? 0;
    // A call or two in flight at the window's edges is not a cache hit.
    if (r.masterData !== undefined && r.masterData.calls < adds * 0.99) {
      result.notes.push(
        `${c.id}: cart made ${r.masterData.calls} master-data calls for ${adds} AddLineItems (its item cache answered the rest)`,
      );
    }
    return result;
  } catch (e) {
    rss.stop();
    return emptyResult(base, (e as Error).message);
  }
}

async function main(): Promise<void> {
  const began = Date.now();
  const o = parseOptions(process.argv.slice(2));
  const args = process.argv.slice(2).join(" ");
  const command =
    process.env.npm_lifecycle_event === "bench"
      ? `pnpm bench${args ? ` ${args}` : ""}`
      : `node --import tsx bench/src/main.ts${args ? ` ${args}` : ""}`;
  const { paths: tools, skipped } = findTools();
  for (const s of skipped) process.stderr.write(`bench: SKIPPING ${s.tool}: ${s.reason}\n`);
  const inputs = await prepareToolInputs();
  const machine = machineFacts(tools);
  process.stderr.write(
    `bench: ${machine.cores} cores shared by servers and load generators (${machine.cpuModel}), Node ${machine.node}; ${o.quick ? "quick run" : "full run"}\n`,
  );

  const direct = o.direct ? directCases(o.levels, new Set(Object.keys(tools) as ExternalTool[])) : [];
  const cart = o.cart ? cartCases(o.terminals, o.paced) : [];
  const progress = createProgress(direct.length + cart.length);
  const results: CaseResult[] = [];
  const running = new Set<RunningServer>();
  const stopAll = async () => {
    await Promise.all([...running].map((s) => s.stop()));
    running.clear();
  };
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  const start = async (name: string, entry: string, env: Record<string, string>) => {
    const s = await startServer(name, entry, env);
    running.add(s);
    return s;
  };
  const stop = async (s: RunningServer) => {
    running.delete(s);
    await s.stop();
  };

  try {
    if (direct.length > 0) {
      progress.note("bench: starting master-data and the peers (grpc-js, plain Fastify), each in its own process");
      // All three stay up, idle when not under load, so that ours and its peer run back to back.
      const [md, grpcJs, fastify] = await Promise.all([
        start("master-data", entries.masterData, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info" }),
        start("grpc-js", entries.grpcJs, { PEER_PORT: "0" }),
        start("fastify-json", entries.fastifyJson, { PEER_PORT: "0" }),
      ]);
      const servers: Record<ServerKind, RunningServer> = {
        "master-data": md,
        "grpc-js": grpcJs,
        "fastify-json": fastify,
      };
      for (const c of direct) {
        const d = describeDirect(c);
        progress.start(`${d.server} · ${d.rpc} · ${d.transport} · ${d.loadgen} · c=${c.concurrency}`);
        const r = await runDirectCase(c, servers[c.server], o, tools, inputs, progress);
        results.push(r);
        progress.finish(summaryLine(r));
      }
      await Promise.all([stop(md), stop(grpcJs), stop(fastify)]);
    }
    if (cart.length > 0) {
      progress.note(
        "bench: starting master-data for cart; cart restarts once per transport (ITEM_CACHE_TTL_MS=0: no item cache)",
      );
      const md = await start("master-data", entries.masterData, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info" });
      // A fresh cart per case: its master-data latency histogram then covers this case only.
      for (const t of [...new Set(cart.map((c) => c.transport))]) {
        for (const c of cart.filter((x) => x.transport === t)) {
          progress.start(
            `cart → master-data ${transportLabels[t.name]} · ${c.paced ? "paced" : "closed loop"} · ${c.terminals} terminals`,
          );
          const cartServer = await start("cart", entries.cart, {
            CART_PORT: "0",
            LOG_LEVEL: "info",
            MASTER_DATA_URL: md.url,
            MASTER_DATA_PROTOCOL: t.protocol,
            MASTER_DATA_HTTP_VERSION: t.httpVersion,
            MASTER_DATA_FORMAT: t.format,
            ITEM_CACHE_TTL_MS: "0",
          });
          const r = await runCartCase(c, cartServer, md, o, progress);
          await stop(cartServer);
          results.push(r);
          progress.finish(summaryLine(r));
        }
      }
      await stop(md);
    }
  } finally {
    await stopAll();
  }

  // Cases in report order: direct as run, cart grouped by mode.
  results.sort((a, b) => (a.kind === b.kind && a.kind === "cart" ? a.mode.localeCompare(b.mode) : 0));
  compareWithBaselines(results);
  const meta: RunMeta = {
    date: new Date().toISOString(),
    command,
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
  const report: BenchReport = { meta, cases: results };
  await mkdir(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `${o.out}.json`);
  const svgFile = path.join(resultsDir, `${o.out}.svg`);
  const mdFile = path.join(resultsDir, `${o.out}.md`);
  const markdown = markdownReport(report);
  await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(mdFile, `${markdown}\n`);
  const level = o.levels.includes(16) ? 16 : (o.levels[Math.floor(o.levels.length / 2)] ?? 1);
  await writeFile(svgFile, await renderSvg(chartSpec(report, level)));
  process.stdout.write(
    `${markdown}\n\nResults: ${path.relative(repoRoot, jsonFile)}, chart: ${path.relative(repoRoot, svgFile)}\n`,
  );

  const failed = failedCases(results);
  if (failed.length > 0) {
    process.stderr.write(
      `bench: ${failed.length} case(s) had errors or did not run:\n${failed.map((r) => `  ${r.id}: ${r.failure ?? `${r.errors} errors`}`).join("\n")}\n`,
    );
    process.exit(1);
  }
  process.exit(0);
}

function summaryLine(r: CaseResult): string {
  if (!r.ran) return `FAILED: ${r.failure?.split("\n")[0] ?? "?"}`;
  const cpu = r.serverCpuUsPerReq === undefined ? "–" : Math.round(r.serverCpuUsPerReq);
  return `${Math.round(r.rps)} req/s, p50 ${r.latency.p50Ms.toFixed(2)} ms, p99 ${r.latency.p99Ms.toFixed(2)} ms, server ${cpu} µs/req, ${r.errors} errors${r.errors > 0 ? ` (${r.errorSamples[0] ?? ""})` : ""}`;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
