import type { NodeClientKind } from "./client-spec.js";
import type { BodyEncoding } from "./requests.js";

export type ServerKind =
  | "master-data"
  | "master-data-connect-es"
  | "grpc-js"
  | "fastify-json"
  | "floor-http1"
  | "floor-http2";
export type ExternalTool = "wrk" | "h2load" | "ghz";

export type LoadGen =
  | { kind: "node"; client: NodeClientKind }
  | { kind: "wrk"; encoding: BodyEncoding }
  | { kind: "h2load"; encoding: BodyEncoding }
  | { kind: "ghz" };

export interface DirectCase {
  kind: "direct";
  id: string;
  server: ServerKind;
  rpc: "get" | "batch20";
  /** What goes over the wire, e.g. "connect-json-h1". */
  transport: NodeClientKind;
  loadgen: LoadGen;
  concurrency: number;
  /** The peer case measured right before this one, same client, same concurrency. */
  baselineId: string | undefined;
  /** The floor case (bare node:http / node:http2) with the same native load generator. */
  floorId?: string | undefined;
}

export interface CartTransport {
  name: NodeClientKind;
  protocol: "connect" | "grpc" | "grpc-web";
  httpVersion: "1.1" | "2";
  format: "binary" | "json";
}

export interface CartCase {
  kind: "cart";
  id: string;
  transport: CartTransport;
  paced: boolean;
  terminals: number;
  baselineId: string | undefined;
}

export type BenchCase = DirectCase | CartCase;

export const transportLabels: Record<NodeClientKind, string> = {
  "connect-json-h1": "Connect JSON, HTTP/1.1",
  "connect-proto-h1": "Connect binary, HTTP/1.1",
  "connect-proto-h2": "Connect binary, HTTP/2",
  grpc: "gRPC, HTTP/2",
  "grpc-web-h1": "gRPC-Web, HTTP/1.1",
  "grpc-js": "gRPC, HTTP/2",
};

export const serverLabels: Record<ServerKind, string> = {
  "master-data": "master-data",
  "master-data-connect-es": "master-data, connect-es only",
  "grpc-js": "peer: grpc-js",
  "fastify-json": "peer: Fastify JSON",
  "floor-http1": "floor: bare node:http",
  "floor-http2": "floor: bare node:http2",
};

export function loadgenLabel(g: LoadGen): string {
  switch (g.kind) {
    case "node":
      return g.client === "grpc-js" ? "node (grpc-js client)" : "node (connect-es client)";
    default:
      return g.kind;
  }
}

export const rpcLabels = { get: "GetItemDetail", batch20: "BatchGetItemDetails×20" } as const;

export const cartTransports: CartTransport[] = [
  { name: "connect-json-h1", protocol: "connect", httpVersion: "1.1", format: "json" },
  { name: "connect-proto-h1", protocol: "connect", httpVersion: "1.1", format: "binary" },
  { name: "connect-proto-h2", protocol: "connect", httpVersion: "2", format: "binary" },
  { name: "grpc", protocol: "grpc", httpVersion: "2", format: "binary" },
  { name: "grpc-web-h1", protocol: "grpc-web", httpVersion: "1.1", format: "binary" },
];

function loadgenKey(g: LoadGen): string {
  return g.kind === "node" ? `node:${g.client}` : g.kind === "ghz" ? "ghz" : `${g.kind}:${g.encoding}`;
}

function directId(server: ServerKind, rpc: DirectCase["rpc"], loadgen: LoadGen, c: number): string {
  return `${server}/${rpc}/${loadgenKey(loadgen)}/c${c}`;
}

/**
 * The direct cases, ordered so that each baseline (a peer) runs right before the cases compared
 * with it: on a shared machine, what changes over minutes then hits both sides of a ratio alike.
 */
export function directCases(levels: readonly number[], tools: ReadonlySet<ExternalTool>): DirectCase[] {
  const cases: DirectCase[] = [];
  const add = (
    server: ServerKind,
    rpc: DirectCase["rpc"],
    transport: NodeClientKind,
    loadgen: LoadGen,
    c: number,
    baselineId?: string,
    floorId?: string,
  ) => {
    const id = directId(server, rpc, loadgen, c);
    cases.push({ kind: "direct", id, server, rpc, transport, loadgen, concurrency: c, baselineId, floorId });
    return id;
  };
  const node = (client: NodeClientKind): LoadGen => ({ kind: "node", client });
  for (const c of levels) {
    // HTTP/1.1: the original system's path (plain Fastify JSON) against every HTTP/1.1 transport.
    const fastify = add("fastify-json", "get", "connect-json-h1", node("connect-json-h1"), c);
    for (const t of ["connect-json-h1", "connect-proto-h1", "grpc-web-h1"] as const)
      add("master-data", "get", t, node(t), c, fastify);
    // HTTP/2: a plain grpc-js server against gRPC and Connect over HTTP/2, same connect-es client.
    const grpcJs = add("grpc-js", "get", "grpc", node("grpc"), c);
    for (const t of ["grpc", "connect-proto-h2"] as const) add("master-data", "get", t, node(t), c, grpcJs);
    // The grpc-js CLIENT on both servers.
    const grpcJsClient = add("grpc-js", "get", "grpc-js", node("grpc-js"), c);
    add("master-data", "get", "grpc-js", node("grpc-js"), c, grpcJsClient);
    // 20 codes per call.
    const fastifyBatch = add("fastify-json", "batch20", "connect-json-h1", node("connect-json-h1"), c);
    add("master-data", "batch20", "connect-json-h1", node("connect-json-h1"), c, fastifyBatch);
    const grpcJsBatch = add("grpc-js", "batch20", "grpc", node("grpc"), c);
    add("master-data", "batch20", "grpc", node("grpc"), c, grpcJsBatch);
    // Native load generators: they leave the CPU to the server.
    // The floor (a bare node:http / node:http2 server answering the same bytes) first, then the peer.
    if (tools.has("wrk")) {
      const json = { kind: "wrk", encoding: "connect-json" } as const;
      const floor = add("floor-http1", "get", "connect-json-h1", json, c);
      const wrk = add("fastify-json", "get", "connect-json-h1", json, c, undefined, floor);
      add("master-data", "get", "connect-json-h1", json, c, wrk, floor);
      add("master-data", "get", "connect-proto-h1", { kind: "wrk", encoding: "connect-proto" }, c, wrk, floor);
      add("master-data", "get", "grpc-web-h1", { kind: "wrk", encoding: "grpc-web" }, c, wrk, floor);
      // The same server with UNARY_FAST_PATH=false: what connect-fastify alone costs (the fallback).
      add("master-data-connect-es", "get", "connect-json-h1", json, c, wrk, floor);
      add("master-data-connect-es", "get", "grpc-web-h1", { kind: "wrk", encoding: "grpc-web" }, c, wrk, floor);
    }
    if (tools.has("h2load")) {
      const grpc = { kind: "h2load", encoding: "grpc" } as const;
      const floor = add("floor-http2", "get", "grpc", grpc, c);
      const h2 = add("grpc-js", "get", "grpc", grpc, c, undefined, floor);
      add("master-data", "get", "grpc", grpc, c, h2, floor);
      add("master-data", "get", "connect-proto-h2", { kind: "h2load", encoding: "connect-proto" }, c, h2, floor);
      add("master-data-connect-es", "get", "grpc", grpc, c, h2, floor);
    }
    if (tools.has("ghz")) {
      const ghz = add("grpc-js", "get", "grpc", { kind: "ghz" }, c);
      add("master-data", "get", "grpc", { kind: "ghz" }, c, ghz);
    }
  }
  return cases;
}

/** cart end to end, once per cart → master-data transport; ratios against Connect JSON/HTTP 1.1. */
export function cartCases(terminals: number, paced: boolean): CartCase[] {
  const cases: CartCase[] = [];
  for (const mode of paced ? [false, true] : [false]) {
    const baseline = `cart/${mode ? "paced" : "throughput"}/connect-json-h1`;
    for (const t of cartTransports) {
      const id = `cart/${mode ? "paced" : "throughput"}/${t.name}`;
      cases.push({
        kind: "cart",
        id,
        transport: t,
        paced: mode,
        terminals,
        baselineId: id === baseline ? undefined : baseline,
      });
    }
  }
  return cases;
}
