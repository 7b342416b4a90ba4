import type { MasterDataSeen } from "./client-spec.js";
import type { LatencySummary } from "./stats.js";
import { ratio } from "./stats.js";

/** One measured case, as the report and results/*.json hold it. */
export interface CaseResult {
  id: string;
  kind: "direct" | "cart";
  /** Human-readable parts of the case. */
  server: string;
  rpc: string;
  transport: string;
  loadgen: string;
  /** Concurrent calls (direct) or terminals (cart). */
  concurrency: number;
  mode: "closed-loop" | "paced";
  /** false when the case could not run at all (see failure). */
  ran: boolean;
  failure: string | undefined;
  requests: number;
  errors: number;
  errorRate: number;
  errorSamples: string[];
  windowMs: number;
  rps: number;
  latency: LatencySummary;
  serverCpuMs: number;
  clientCpuMs: number;
  serverCpuUsPerReq: number | undefined;
  clientCpuUsPerReq: number | undefined;
  serverPeakRssMb: number | undefined;
  clientPeakRssMb: number | undefined;
  notes: string[];
  baselineId: string | undefined;
  vsBaseline: Ratios | undefined;
  /** The floor case (a bare node:http / node:http2 server) this one is divided by, same load generator. */
  floorId?: string | undefined;
  vsFloor?: Ratios | undefined;
  cart: CartExtras | undefined;
}

export interface CartExtras {
  sales: number;
  salesPerS: number;
  addLineItems: LatencySummary | undefined;
  masterData: MasterDataSeen | undefined;
  cartCpuMs: number;
  masterDataCpuMs: number;
  cartCpuUsPerCall: number | undefined;
  /** master-data CPU per master-data call cart made. */
  masterDataCpuUsPerCall: number | undefined;
}

/** This case divided by its baseline: >1 req/s is faster, <1 server CPU is cheaper. */
export interface Ratios {
  rps: number | undefined;
  serverCpuPerReq: number | undefined;
  p50: number | undefined;
  p99: number | undefined;
}

export function compareWithBaselines(results: CaseResult[]): void {
  const byId = new Map(results.map((r) => [r.id, r]));
  const versus = (r: CaseResult, id: string | undefined): Ratios | undefined => {
    const base = id === undefined ? undefined : byId.get(id);
    if (base === undefined || !base.ran || !r.ran) return undefined;
    return {
      rps: ratio(r.rps, base.rps),
      serverCpuPerReq: ratio(r.serverCpuUsPerReq, base.serverCpuUsPerReq),
      p50: ratio(r.latency.p50Ms, base.latency.p50Ms),
      p99: ratio(r.latency.p99Ms, base.latency.p99Ms),
    };
  };
  for (const r of results) {
    r.vsBaseline = versus(r, r.baselineId);
    r.vsFloor = versus(r, r.floorId);
  }
}

export function failedCases(results: CaseResult[]): CaseResult[] {
  return results.filter((r) => !r.ran || r.errors > 0 || r.requests === 0);
}
