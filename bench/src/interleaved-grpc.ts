// The loop behind the "what does X cost" benches (auth-cost.ts, telemetry-cost.ts): the same Node
// gRPC GetItemDetail load against several variants of one server, rounds interleaved so machine
// noise hits every variant alike; server CPU per request from /proc; medians over the rounds.
import { create } from "@bufbuild/protobuf";
import { GetItemDetailRequestSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { createRecorder, runWorkers, timed } from "./load-loop.js";
import { createItemCaller } from "./node-callers.js";
import { cpuDeltaMs, readCpu } from "./proc-stats.js";
import type { RunningServer } from "./processes.js";
import { median } from "./stats.js";

export interface InterleavedOptions {
  rounds: number;
  seconds: number;
  concurrency: number;
  /** The request headers (credentials) each variant's calls carry, by its index. */
  headers: (variant: number) => Record<string, string>;
}

export interface VariantMedians {
  rps: number;
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
}

const request = create(GetItemDetailRequestSchema, { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0003" });

export async function measureInterleaved(
  servers: readonly RunningServer[],
  options: InterleavedOptions,
): Promise<VariantMedians[]> {
  const samples = servers.map(() => ({
    rps: [] as number[],
    cpuUs: [] as number[],
    p50: [] as number[],
    p99: [] as number[],
  }));
  for (let round = 0; round < options.rounds + 1; round++) {
    for (const [i, server] of servers.entries()) {
      const caller = createItemCaller("grpc", server.url, options.concurrency, options.headers(i));
      const rec = createRecorder();
      const before = readCpu(server.pid);
      // Round 0 warms every server up (JIT, connections, caches) and is not counted.
      const ms = await runWorkers(
        options.concurrency,
        (round === 0 ? 2 : options.seconds) * 1000,
        async (_w, running) => {
          while (running()) await timed(rec, "GetItemDetail", async () => void (await caller.getItemDetail(request)));
        },
      );
      const cpuMs = cpuDeltaMs(before, readCpu(server.pid));
      caller.close();
      if (rec.errors > 0) throw new Error(`${server.name}: ${rec.errors} errors: ${rec.summary().errorSamples}`);
      const s = samples[i];
      if (round === 0 || s === undefined) continue;
      const lat = rec.summary().latency;
      s.rps.push((rec.requests * 1000) / ms);
      s.cpuUs.push((cpuMs * 1000) / rec.requests);
      s.p50.push(lat.p50Ms);
      s.p99.push(lat.p99Ms);
    }
  }
  return samples.map((s) => ({
    rps: median(s.rps),
    cpuUs: median(s.cpuUs),
    p50Ms: median(s.p50),
    p99Ms: median(s.p99),
  }));
}

/** The markdown table both benches print: one row per variant, CPU relative to the first. */
export function printMedians(
  names: readonly string[],
  medians: readonly VariantMedians[],
  options: InterleavedOptions & { firstColumn: string; baselineColumn: string },
): void {
  console.log(
    `\nmaster-data GetItemDetail, gRPC/HTTP 2 Node client, concurrency ${options.concurrency}, ${options.rounds} rounds × ${options.seconds} s, medians:\n`,
  );
  console.log(`| ${options.firstColumn} | req/s | p50 / p99 ms | server CPU µs/req | ${options.baselineColumn} |`);
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const baseCpu = medians[0]?.cpuUs ?? Number.NaN;
  for (const [i, name] of names.entries()) {
    const m = medians[i];
    if (m === undefined) continue;
    console.log(
      `| ${name} | ${Math.round(m.rps).toLocaleString("en")} | ${m.p50Ms.toFixed(2)} / ${m.p99Ms.toFixed(1)} | ${m.cpuUs.toFixed(0)} | ${(m.cpuUs / baseCpu).toFixed(2)}× |`,
    );
  }
}
