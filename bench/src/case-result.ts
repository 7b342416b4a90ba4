import type { ClientResult } from "./client-spec.js";
import type { CaseResult } from "./results.js";
import { cpuPerRequestUs } from "./stats.js";

// Building a CaseResult from what a run produced (or from why it could not run), and its one-line summary.

export type CaseBase = Pick<
  CaseResult,
  | "id"
  | "kind"
  | "server"
  | "rpc"
  | "transport"
  | "loadgen"
  | "concurrency"
  | "mode"
  | "notes"
  | "baselineId"
  | "floorId"
>;

export const mb = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);

export function emptyResult(base: CaseBase, failure: string): CaseResult {
  return {
    ...base,
    ran: false,
    failure,
    requests: 0,
    errors: 0,
    errorRate: 0,
    errorSamples: [],
    windowMs: 0,
    rps: 0,
    latency: { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 },
    serverCpuMs: 0,
    clientCpuMs: 0,
    serverCpuUsPerReq: undefined,
    clientCpuUsPerReq: undefined,
    serverPeakRssMb: undefined,
    clientPeakRssMb: undefined,
    vsBaseline: undefined,
    cart: undefined,
  };
}

/** A case measured by the Node load client. */
export function fromClient(
  base: CaseBase,
  r: ClientResult,
  serverCpuMs: number,
  serverPeakRssMb: number | undefined,
  clientPeakRssMb: number | undefined,
): CaseResult {
  const clientCpuMs = r.cpuMs.client ?? 0;
  return {
    ...base,
    ran: true,
    failure: undefined,
    requests: r.requests,
    errors: r.errors,
    errorRate: r.requests > 0 ? r.errors / r.requests : 0,
    errorSamples: r.errorSamples,
    windowMs: r.windowMs,
    rps: r.windowMs > 0 ? r.requests / (r.windowMs / 1000) : 0,
    latency: r.latency,
    serverCpuMs,
    clientCpuMs,
    serverCpuUsPerReq: cpuPerRequestUs(serverCpuMs, r.requests),
    clientCpuUsPerReq: cpuPerRequestUs(clientCpuMs, r.requests),
    serverPeakRssMb,
    clientPeakRssMb,
    vsBaseline: undefined,
    cart: undefined,
  };
}

export function summaryLine(r: CaseResult): string {
  if (!r.ran) return `FAILED: ${r.failure?.split("\n")[0] ?? "?"}`;
  const cpu = r.serverCpuUsPerReq === undefined ? "–" : Math.round(r.serverCpuUsPerReq);
  return `${Math.round(r.rps)} req/s, p50 ${r.latency.p50Ms.toFixed(2)} ms, p99 ${r.latency.p99Ms.toFixed(2)} ms, server ${cpu} µs/req, ${r.errors} errors${r.errors > 0 ? ` (${r.errorSamples[0] ?? ""})` : ""}`;
}
