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
import { testAuth } from "@pos/common/testing";
import { measureInterleaved, printMedians } from "./interleaved-grpc.js";
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
const options = { rounds, seconds, concurrency, headers: (i: number) => ({ ...variants[i]?.headers }) };
let medians: Awaited<ReturnType<typeof measureInterleaved>>;
try {
  medians = await measureInterleaved(servers, options);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
printMedians(
  variants.map((v) => v.name),
  medians,
  { ...options, firstColumn: "master-data", baselineColumn: "CPU vs no auth" },
);
