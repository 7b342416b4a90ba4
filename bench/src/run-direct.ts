import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type CaseBase, emptyResult, fromClient, mb } from "./case-result.js";
import { type DirectCase, type ExternalTool, loadgenLabel, rpcLabels, serverLabels, transportLabels } from "./cases.js";
import type { Options } from "./cli.js";
import type { DirectSpec } from "./client-spec.js";
import { benchCredential } from "./credential.js";
import { probeGrpc } from "./grpc-probe.js";
import { cacheDir, entries } from "./paths.js";
import { cpuDeltaMs, readCpu, readMemory, sampleRss } from "./proc-stats.js";
import { childPids, type RunningServer, runNodeClient, runTool } from "./processes.js";
import type { Progress } from "./progress.js";
import { getItemPath, headersFor } from "./requests.js";
import type { CaseResult } from "./results.js";
import { cpuPerRequestUs } from "./stats.js";
import type { ToolInputs } from "./tool-inputs.js";
import { ghzArgs, h2loadArgs, parseGhz, parseH2load, parseWrk, type ToolRun, wrkArgs } from "./tools.js";

// One direct case: master-data or a peer, loaded by the Node client or by a native load generator.

export function describeDirect(c: DirectCase): CaseBase {
  return {
    id: c.id,
    kind: "direct",
    server: serverLabels[c.server],
    rpc: rpcLabels[c.rpc],
    transport: transportLabels[c.transport],
    loadgen: loadgenLabel(c.loadgen),
    concurrency: c.concurrency,
    mode: "closed-loop",
    notes: [],
    baselineId: c.baselineId,
    floorId: c.floorId,
  };
}

export async function runDirectCase(
  c: DirectCase,
  server: RunningServer,
  o: Options,
  tools: Partial<Record<ExternalTool, string>>,
  inputs: ToolInputs,
  progress: Progress,
): Promise<CaseResult> {
  return c.loadgen.kind === "node"
    ? runWithNodeClient(c, c.loadgen.client, server, o, progress)
    : runWithTool(c, server, o, tools, inputs, progress);
}

async function runWithNodeClient(
  c: DirectCase,
  client: DirectSpec["client"],
  server: RunningServer,
  o: Options,
  progress: Progress,
): Promise<CaseResult> {
  const base = describeDirect(c);
  const spec: DirectSpec = {
    scenario: c.rpc,
    client,
    baseUrl: server.url,
    concurrency: c.concurrency,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
    seed: 7,
    watchPids: { server: server.pid },
    headers: benchCredential,
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

async function runWithTool(
  c: DirectCase,
  server: RunningServer,
  o: Options,
  tools: Partial<Record<ExternalTool, string>>,
  inputs: ToolInputs,
  progress: Progress,
): Promise<CaseResult> {
  const base = describeDirect(c);
  const loadgen = c.loadgen;
  if (loadgen.kind === "node") throw new Error("unreachable: node cases run with the Node client");
  const tool = loadgen.kind;
  const binary = tools[tool];
  if (binary === undefined) return emptyResult(base, `${tool} is not installed`);
  const statFile = path.join(cacheDir, `${tool}.stat`);
  const url = `${server.url}${getItemPath}`;
  const target = new URL(server.url).host;
  let ghzCount: number | undefined;
  const argsFor = (seconds: number, out: string): string[] => {
    switch (loadgen.kind) {
      case "wrk":
        return wrkArgs(url, inputs.wrkScripts[loadgen.encoding] ?? "", c.concurrency, seconds);
      case "h2load":
        return h2loadArgs(
          url,
          inputs.h2loadBodies[loadgen.encoding] ?? "",
          { ...headersFor(loadgen.encoding), ...benchCredential },
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
          benchCredential,
        );
    }
  };
  const outFile = path.join(cacheDir, `${tool}-out.txt`);
  const ticker = (phase: string) => {
    const timer = setInterval(() => progress.update(phase), 1000);
    return () => clearInterval(timer);
  };
  try {
    // h2load reads no trailers: a probe with the same body must get grpc-status 0, and its answer's
    // size is what every good answer of the run must carry (see parseH2load).
    let grpcAnswerBytes: number | undefined;
    if (loadgen.kind === "h2load" && loadgen.encoding === "grpc") {
      const body = await readFile(inputs.h2loadBodies.grpc ?? "");
      const probe = await probeGrpc(url, body, { ...headersFor("grpc"), ...benchCredential });
      if (probe.status !== "0")
        throw new Error(`gRPC probe answered grpc-status ${probe.status ?? "(none)"}: ${probe.message ?? ""}`);
      grpcAnswerBytes = probe.dataBytes;
    }
    let stop = ticker("warming up");
    const warm = await runTool(binary, argsFor(Math.max(1, Math.round(o.warmupMs / 1000)), outFile), statFile);
    stop();
    if (warm.code !== 0)
      throw new Error(`${tool} warm-up exited with ${warm.code}: ${(warm.stderr || warm.stdout).trim().slice(-500)}`);
    if (tool === "ghz") {
      // With a duration ghz closes the connection under the calls in flight and counts them as errors.
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
          const kb = readMemory(pid)?.rssKb;
          if (kb !== undefined) toolRss.set(pid, Math.max(toolRss.get(pid) ?? 0, kb));
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
          ? parseH2load(run.stdout, await readFile(outFile, "utf8"), grpcAnswerBytes)
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
