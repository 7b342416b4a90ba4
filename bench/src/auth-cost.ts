// What authentication costs master-data per call, measured in ONE run: the same server started
// three ways — no authentication (every method's policy open: bench-only, see
// serve-master-data-auth.ts), a terminal API key (x-api-key: key-store lookup, HMAC-SHA256,
// constant-time compare, scope check) and a bearer JWT (an admin token: signature verified once,
// then the verified-token cache) — the same Node gRPC load against each, rounds interleaved so
// machine noise hits all three alike; server CPU per request from /proc.
// Usage: node --import tsx bench/src/auth-cost.ts [--rounds N] [--seconds S] [--concurrency C]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { testAuth } from "@pos/common/testing";
import { GetItemDetailRequestSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { createRecorder, runWorkers, timed } from "./load-loop.js";
import { createItemCaller } from "./node-callers.js";
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
const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), "serve-master-data-auth.ts");

const key = await testAuth.apiKey({ tenant: "T0001", store: "S0001", terminal: "R01" });
const token = await testAuth.token({ tenant: "T0001" }, 3600);
// The production default for how often the key file is checked (the tests' own is 100 ms).
const base = { MASTER_DATA_PORT: "0", AUTH_KEY_REFRESH_MS: "2000" };
const variants = [
  { name: "no authentication (open policy, bench only)", env: { ...base, BENCH_OPEN_POLICY: "1" }, headers: {} },
  { name: "terminal API key (x-api-key)", env: base, headers: { "x-api-key": key.key } },
  { name: "bearer JWT (EdDSA, verified once, then cached)", env: base, headers: { authorization: `Bearer ${token}` } },
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
      const caller = createItemCaller("grpc", server.url, concurrency, { ...variants[i]?.headers });
      const rec = createRecorder();
      const before = readCpu(server.pid);
      // Round 0 warms every server up (JIT, connections, the token cache) and is not counted.
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
console.log("| master-data | req/s | p50 / p99 ms | server CPU µs/req | CPU vs no auth |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [i, v] of variants.entries()) {
  const r = results[i];
  if (r === undefined) continue;
  const cpu = median(r.cpuUs);
  console.log(
    `| ${v.name} | ${Math.round(median(r.rps)).toLocaleString("en")} | ${median(r.p50).toFixed(2)} / ${median(r.p99).toFixed(1)} | ${cpu.toFixed(0)} | ${(cpu / offCpu).toFixed(2)}× |`,
  );
}
