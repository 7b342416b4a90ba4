// What metrics and tracing cost master-data, measured in ONE run: the same server started three
// ways (telemetry off; /metrics on; /metrics and tracing exporting to a local OTLP sink), the same
// Node gRPC client load against each, rounds interleaved so machine noise hits all three alike.
// Usage: node --import tsx bench/src/telemetry-cost.ts [--rounds N] [--seconds S] [--concurrency C]
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { GetItemDetailRequestSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { benchCredential } from "./credential.js";
import { createRecorder, runWorkers, timed } from "./load-loop.js";
import { createItemCaller } from "./node-callers.js";
import { entries } from "./paths.js";
import { cpuDeltaMs, readCpu } from "./proc-stats.js";
import { startServer } from "./processes.js";
import { percentile } from "./stats.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
// The built service, as start.sh runs it (`pnpm bench:telemetry` builds first).
const entry = entries.masterData;

// Accepts OTLP/HTTP exports and drops them: the cost measured is the service's, not a collector's.
let spansReceived = 0;
const sink = http.createServer((req, res) => {
  let bytes = 0;
  req.on("data", (b: Buffer) => {
    bytes += b.length;
  });
  req.on("end", () => {
    spansReceived += bytes > 0 ? 1 : 0;
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const base = { MASTER_DATA_PORT: "0" };
const variants = [
  { name: "telemetry off (METRICS=false)", env: { ...base, METRICS: "false" } },
  { name: "metrics on (default)", env: { ...base } },
  { name: "metrics + tracing (OTLP, all sampled)", env: { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } },
] as const;

const servers = await Promise.all(variants.map((v) => startServer(v.name, entry, v.env)));
const results = variants.map(() => ({
  rps: [] as number[],
  cpuUs: [] as number[],
  p50: [] as number[],
  p99: [] as number[],
}));
const request = create(GetItemDetailRequestSchema, { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0003" });

try {
  for (let round = 0; round < rounds + 1; round++) {
    for (const [i, server] of servers.entries()) {
      const caller = createItemCaller("grpc", server.url, concurrency, benchCredential);
      const rec = createRecorder();
      const before = readCpu(server.pid);
      // Round 0 warms every server up (JIT, connections) and is not counted.
      const ms = await runWorkers(concurrency, (round === 0 ? 2 : seconds) * 1000, async (_w, running) => {
        while (running()) await timed(rec, "GetItemDetail", async () => void (await caller.getItemDetail(request)));
      });
      const cpuMs = cpuDeltaMs(before, readCpu(server.pid));
      caller.close();
      if (rec.errors > 0) throw new Error(`${server.name}: ${rec.errors} errors: ${rec.summary().errorSamples}`);
      if (round === 0) continue;
      const r = results[i];
      if (r === undefined) continue;
      const lat = rec.summary().latency;
      r.rps.push((rec.requests * 1000) / ms);
      r.cpuUs.push((cpuMs * 1000) / rec.requests);
      r.p50.push(lat.p50Ms);
      r.p99.push(lat.p99Ms);
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  sink.close();
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
const offCpu = median(results[0]?.cpuUs ?? []);
console.log(
  `\nmaster-data GetItemDetail, gRPC/HTTP 2 Node client, concurrency ${concurrency}, ${rounds} rounds × ${seconds} s, medians:\n`,
);
console.log("| server | req/s | p50 / p99 ms | server CPU µs/req | CPU vs off |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [i, v] of variants.entries()) {
  const r = results[i];
  if (r === undefined) continue;
  const cpu = median(r.cpuUs);
  console.log(
    `| ${v.name} | ${Math.round(median(r.rps)).toLocaleString("en")} | ${median(r.p50).toFixed(2)} / ${median(r.p99).toFixed(1)} | ${cpu.toFixed(0)} | ${(cpu / offCpu).toFixed(2)}× |`,
  );
}
console.log(`\nOTLP export requests received by the sink: ${spansReceived}`);
