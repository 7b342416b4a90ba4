import type { LatencySummary } from "./stats.js";

/** How the Node load client reaches the server under test. */
export const nodeClients = [
  "connect-json-h1",
  "connect-proto-h1",
  "connect-proto-h2",
  "grpc",
  "grpc-web-h1",
  "grpc-js",
] as const;
export type NodeClientKind = (typeof nodeClients)[number];

interface CommonSpec {
  baseUrl: string;
  warmupMs: number;
  durationMs: number;
  seed: number;
  /** Server processes whose CPU the client reads at the exact edges of the measured window. */
  watchPids: Record<string, number>;
  /** Sent with every call: the credential (see credential.ts). */
  headers: Record<string, string>;
}

/** master-data (or a peer) called directly: GetItemDetail or BatchGetItemDetails(20). */
export interface DirectSpec extends CommonSpec {
  scenario: "get" | "batch20";
  client: NodeClientKind;
  concurrency: number;
}

/** N terminals each running whole sales against cart. */
export interface CartSpec extends CommonSpec {
  scenario: "cart";
  terminals: number;
  itemsPerSale: number;
  /** Paced mode: each terminal waits a uniform random time in [min, max] ms before each call. */
  thinkMs: [number, number] | undefined;
  /** cart's GET /stats/master-data, read at both edges of the window. */
  statsUrl: string;
}

export type ClientSpec = DirectSpec | CartSpec;

/** master-data calls as cart saw them (its own histogram; see services/cart). */
export interface MasterDataSeen {
  calls: number;
  retries: number;
  cacheHits: number;
  /** Mean over the measured window (from count/sum deltas). */
  windowMeanMs: number;
  windowCount: number;
  /** True when p50/p99 are the measured window's (cart reports its buckets); else since cart started. */
  windowQuantiles: boolean;
  /** cart's histogram: bucket upper bounds, ±5 % (±10 % on builds before the buckets were reported). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ClientResult {
  requests: number;
  errors: number;
  errorSamples: string[];
  windowMs: number;
  latency: LatencySummary;
  /** Per RPC, for cart (createCart, addLineItems, …). */
  byCall: Record<string, LatencySummary>;
  /** Whole sales completed in the window (cart only). */
  sales: number;
  /** CPU ms in the window, by the names in watchPids, plus "client" (this process). */
  cpuMs: Record<string, number>;
  masterData: MasterDataSeen | undefined;
}

export type ClientEvent =
  | { event: "progress"; phase: "warmup" | "measure"; requests: number; errors: number }
  | { event: "result"; result: ClientResult };
