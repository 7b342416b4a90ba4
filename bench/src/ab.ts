// Interleaved A/B of master-data builds against the peers and the floor, in ONE run: every server
// stays up, and each round loads each of them in turn (order rotated per round) with the same
// native load generator, so the machine's noise hits all of them alike. Server CPU per request from
// /proc over each measured window; the report gives medians over the rounds and ratios against the
// peer (Fastify JSON route for HTTP/1.1, grpc-js for HTTP/2) and the floor of the same round set.
// On a shared machine only these ratios mean anything; single numbers move by ±30 %.
//
// Usage (after `pnpm build`):
//   node --import tsx bench/src/ab.ts --server base=/path/to/old/dist/main.js --server new=services/master-data/dist/main.js
//   [--rounds 5] [--seconds 3] [--concurrency 16] [--cases json,proto,grpc-web,grpc,h2-proto]
// A server may carry its own environment: --server "big-young=dist/main.js;NODE_OPTIONS=--max-semi-space-size=16".
// --peer-env "NODE_OPTIONS=…" gives the peers and the floor an environment of their own (same flags, fair comparison).
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { probeGrpc } from "./grpc-probe.js";
import { cacheDir, entries } from "./paths.js";
import { cpuDeltaMs, readCpu } from "./proc-stats.js";
import { type RunningServer, runTool, startServer } from "./processes.js";
import { type BodyEncoding, getItemPath, headersFor } from "./requests.js";
import { median } from "./stats.js";
import { findTools, prepareToolInputs } from "./tool-inputs.js";
import { h2loadArgs, parseH2load, parseWrk, wrkArgs } from "./tools.js";

const { values } = parseArgs({
  options: {
    server: { type: "string", multiple: true, default: [] },
    "peer-env": { type: "string", default: "" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    cases: { type: "string", default: "json,proto,grpc-web,grpc,h2-proto" },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(";").filter((p) => p !== "")) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new Error(`not NAME=VALUE: ${pair}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

interface ServerSpec {
  name: string;
  entry: string;
  env: Record<string, string>;
  kind: "master-data" | "fastify" | "grpc-js" | "floor-http1" | "floor-http2";
}

const masterData: ServerSpec[] = (values.server as string[]).map((s) => {
  const [head = "", ...envParts] = s.split(";");
  const eq = head.indexOf("=");
  if (eq < 1) throw new Error(`--server NAME=ENTRY[;ENV=VALUE…], got ${s}`);
  return {
    name: head.slice(0, eq),
    entry: path.resolve(head.slice(eq + 1)),
    env: { MASTER_DATA_PORT: "0", ...parseEnv(envParts.join(";")) },
    kind: "master-data",
  };
});
if (masterData.length === 0) throw new Error("name at least one --server NAME=ENTRY");
const peerEnv = parseEnv(values["peer-env"]);
const peers: ServerSpec[] = [
  { name: "peer: Fastify JSON", entry: entries.fastifyJson, env: { ...peerEnv }, kind: "fastify" },
  { name: "peer: grpc-js", entry: entries.grpcJs, env: { ...peerEnv }, kind: "grpc-js" },
  { name: "floor: node:http", entry: entries.floor, env: { ...peerEnv, FLOOR_HTTP: "1.1" }, kind: "floor-http1" },
  { name: "floor: node:http2", entry: entries.floor, env: { ...peerEnv, FLOOR_HTTP: "2" }, kind: "floor-http2" },
];

interface AbCase {
  id: string;
  label: string;
  tool: "wrk" | "h2load";
  encoding: BodyEncoding;
  /** Which peers serve it besides every master-data build. */
  peers: ServerSpec["kind"][];
  /** The peer the ratio is taken against. */
  versus: ServerSpec["kind"];
  floor: ServerSpec["kind"];
}

const allCases: AbCase[] = [
  {
    id: "json",
    label: "Connect JSON, HTTP/1.1 (wrk)",
    tool: "wrk",
    encoding: "connect-json",
    peers: ["fastify", "floor-http1"],
    versus: "fastify",
    floor: "floor-http1",
  },
  {
    id: "proto",
    label: "Connect binary, HTTP/1.1 (wrk)",
    tool: "wrk",
    encoding: "connect-proto",
    peers: ["floor-http1"],
    versus: "fastify",
    floor: "floor-http1",
  },
  {
    id: "grpc-web",
    label: "gRPC-Web, HTTP/1.1 (wrk)",
    tool: "wrk",
    encoding: "grpc-web",
    peers: ["floor-http1"],
    versus: "fastify",
    floor: "floor-http1",
  },
  {
    id: "grpc",
    label: "gRPC, h2c (h2load)",
    tool: "h2load",
    encoding: "grpc",
    peers: ["grpc-js", "floor-http2"],
    versus: "grpc-js",
    floor: "floor-http2",
  },
  {
    id: "h2-proto",
    label: "Connect binary, h2c (h2load)",
    tool: "h2load",
    encoding: "connect-proto",
    peers: ["floor-http2"],
    versus: "grpc-js",
    floor: "floor-http2",
  },
];
const wanted = new Set(values.cases.split(","));
const cases = allCases.filter((c) => wanted.has(c.id));

const { paths: tools } = findTools();
for (const c of cases) if (tools[c.tool] === undefined) throw new Error(`${c.tool} is not installed`);
const inputs = await prepareToolInputs();
const needed = new Set(cases.flatMap((c) => [...c.peers, c.versus, c.floor]));
const specs = [...masterData, ...peers.filter((p) => needed.has(p.kind))];
const running = new Map<ServerSpec, RunningServer>();
for (const s of specs) running.set(s, await startServer(s.name, s.entry, s.env));

/** µs of server CPU per request, per case id and server name, one number per round. */
const samples = new Map<string, number[]>();
const key = (caseId: string, server: string) => `${caseId}\u0000${server}`;

async function measure(c: AbCase, s: ServerSpec, server: RunningServer, durationS: number): Promise<number> {
  const url = `${server.url}${getItemPath}`;
  const statFile = path.join(cacheDir, "ab.stat");
  const logFile = path.join(cacheDir, "ab-h2load.log");
  const args =
    c.tool === "wrk"
      ? wrkArgs(url, inputs.wrkScripts[c.encoding] ?? "", concurrency, durationS)
      : h2loadArgs(url, inputs.h2loadBodies[c.encoding] ?? "", headersFor(c.encoding), concurrency, durationS, logFile);
  let grpcAnswerBytes: number | undefined;
  if (c.tool === "h2load" && c.encoding === "grpc") {
    const probe = await probeGrpc(url, await readFile(inputs.h2loadBodies.grpc ?? ""), headersFor("grpc"));
    if (probe.status !== "0") throw new Error(`${s.name}: gRPC probe answered grpc-status ${probe.status}`);
    grpcAnswerBytes = probe.dataBytes;
  }
  const before = readCpu(server.pid);
  const run = await runTool(tools[c.tool] ?? "", args, statFile);
  const after = readCpu(server.pid);
  if (run.code !== 0) throw new Error(`${s.name} ${c.id}: ${c.tool} exited with ${run.code}: ${run.stderr}`);
  const r =
    c.tool === "wrk" ? parseWrk(run.stdout) : parseH2load(run.stdout, await readFile(logFile, "utf8"), grpcAnswerBytes);
  await rm(logFile, { force: true });
  if (r.errors > 0) throw new Error(`${s.name} ${c.id}: ${r.errors} errors of ${r.requests}`);
  return (cpuDeltaMs(before, after) * 1000) / Math.max(1, r.requests);
}

try {
  for (let round = 0; round <= rounds; round++) {
    for (const c of cases) {
      const order = specs.filter((s) => s.kind === "master-data" || c.peers.includes(s.kind));
      // Rotate so no server always runs first (or right after the same neighbour).
      const rotated = order.map((_, i) => order[(i + round) % order.length] as ServerSpec);
      for (const s of rotated) {
        const server = running.get(s) as RunningServer;
        // Round 0 warms every server up (JIT, connections) and is not counted.
        const us = await measure(c, s, server, round === 0 ? 2 : seconds);
        if (round === 0) continue;
        const k = key(c.id, s.name);
        samples.set(k, [...(samples.get(k) ?? []), us]);
        process.stderr.write(`round ${round} ${c.id} ${s.name}: ${us.toFixed(0)} µs/req\n`);
      }
    }
  }
} finally {
  for (const server of running.values()) await server.stop();
}

const nameOf = (kind: ServerSpec["kind"]) => peers.find((p) => p.kind === kind)?.name ?? kind;
const med = (caseId: string, server: string) => {
  const xs = samples.get(key(caseId, server));
  return xs === undefined ? undefined : median(xs);
};
console.log(
  `\nGetItemDetail, concurrency ${concurrency}, ${rounds} rounds × ${seconds} s, interleaved; server CPU µs/req (median; rounds in order)\n`,
);
console.log("| transport | server | µs/req per round | median | vs peer | vs floor |");
console.log("| --- | --- | --- | ---: | ---: | ---: |");
for (const c of cases) {
  // The peer of a case it does not serve itself (Fastify for binary/gRPC-Web) comes from the JSON case.
  const peerCase = c.peers.includes(c.versus) ? c.id : c.tool === "wrk" ? "json" : "grpc";
  const peer = med(peerCase, nameOf(c.versus));
  const floor = med(c.id, nameOf(c.floor));
  const rows = specs.filter((s) => s.kind === "master-data" || c.peers.includes(s.kind));
  for (const s of rows) {
    const xs = samples.get(key(c.id, s.name)) ?? [];
    const m = median(xs);
    const vsPeer = s.kind === "master-data" && peer !== undefined ? `${(m / peer).toFixed(2)}×` : "–";
    const vsFloor = s.kind.startsWith("floor") || floor === undefined ? "–" : `${(m / floor).toFixed(2)}×`;
    console.log(
      `| ${c.label} | ${s.name} | ${xs.map((x) => x.toFixed(0)).join(" ")} | ${m.toFixed(0)} | ${vsPeer} | ${vsFloor} |`,
    );
  }
}
