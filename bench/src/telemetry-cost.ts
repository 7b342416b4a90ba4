// What metrics and tracing cost master-data, measured in ONE run: the same server started three
// ways (telemetry off; /metrics on; /metrics and tracing exporting to a local OTLP sink), the same
// Node gRPC client load against each, rounds interleaved so machine noise hits all three alike.
// Usage: node --import tsx bench/src/telemetry-cost.ts [--rounds N] [--seconds S] [--concurrency C]
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { benchCredential } from "./credential.js";
import { measureInterleaved, printMedians } from "./interleaved-grpc.js";
import { entries } from "./paths.js";
import { startServer } from "./processes.js";

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
const options = { rounds, seconds, concurrency, headers: () => benchCredential };
let medians: Awaited<ReturnType<typeof measureInterleaved>>;
try {
  medians = await measureInterleaved(servers, options);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  sink.close();
}
printMedians(
  variants.map((v) => v.name),
  medians,
  { ...options, firstColumn: "server", baselineColumn: "CPU vs off" },
);
console.log(`\nOTLP export requests received by the sink: ${spansReceived}`);
