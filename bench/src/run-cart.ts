import { type CaseBase, emptyResult, fromClient, mb } from "./case-result.js";
import { type CartCase, transportLabels } from "./cases.js";
import type { Options } from "./cli.js";
import type { CartSpec } from "./client-spec.js";
import { benchCredential } from "./credential.js";
import { entries } from "./paths.js";
import { sampleRss } from "./proc-stats.js";
import { type RunningServer, runNodeClient } from "./processes.js";
import type { Progress } from "./progress.js";
import type { CaseResult } from "./results.js";
import { cpuPerRequestUs } from "./stats.js";

// One cart case: N terminals running whole sales against a cart that calls master-data.

export function describeCart(c: CartCase): CaseBase {
  return {
    id: c.id,
    kind: "cart",
    server: "cart",
    rpc: "sale",
    transport: transportLabels[c.transport.name],
    loadgen: "node (connect-es gRPC client)",
    concurrency: c.terminals,
    mode: c.paced ? "paced" : "closed-loop",
    notes: [],
    baselineId: c.baselineId,
  };
}

export async function runCartCase(
  c: CartCase,
  cart: RunningServer,
  masterData: RunningServer,
  o: Options,
  progress: Progress,
): Promise<CaseResult> {
  const base = describeCart(c);
  const spec: CartSpec = {
    scenario: "cart",
    baseUrl: cart.url,
    terminals: c.terminals,
    itemsPerSale: o.itemsPerSale,
    thinkMs: c.paced ? o.thinkMs : undefined,
    // Paced too: a closed-loop warm-up (no think time) first, so the paced window measures a warm
    // process, as production runs, not the JIT compiling its first calls.
    warmupMs: o.cartWarmupMs,
    durationMs: c.paced ? o.pacedDurationMs : o.cartDurationMs,
    seed: 11,
    watchPids: { cart: cart.pid, masterData: masterData.pid },
    headers: benchCredential,
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
      base,
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
