import { describe, expect, it } from "vitest";
import { type CaseResult, compareWithBaselines, failedCases } from "./results.js";

function result(id: string, rps: number, cpu: number, p50: number, baselineId?: string): CaseResult {
  return {
    id,
    kind: "direct",
    server: "s",
    rpc: "r",
    transport: "t",
    loadgen: "l",
    concurrency: 1,
    mode: "closed-loop",
    ran: true,
    failure: undefined,
    requests: 100,
    errors: 0,
    errorRate: 0,
    errorSamples: [],
    windowMs: 1000,
    rps,
    latency: { count: 100, meanMs: p50, p50Ms: p50, p90Ms: p50, p99Ms: p50 * 2, maxMs: p50 * 3 },
    serverCpuMs: 0,
    clientCpuMs: 0,
    serverCpuUsPerReq: cpu,
    clientCpuUsPerReq: 1,
    serverPeakRssMb: 1,
    clientPeakRssMb: 1,
    notes: [],
    baselineId,
    vsBaseline: undefined,
    cart: undefined,
  };
}

describe("comparison with the peers of the same run", () => {
  it("divides each case by its baseline", () => {
    const rs = [result("peer", 1000, 100, 2), result("ours", 800, 250, 3, "peer")];
    compareWithBaselines(rs);
    expect(rs[1]?.vsBaseline).toEqual({ rps: 0.8, serverCpuPerReq: 2.5, p50: 1.5, p99: 1.5 });
    expect(rs[0]?.vsBaseline).toBeUndefined();
  });

  it("has no ratio against a baseline that did not run", () => {
    const peer = { ...result("peer", 0, 0, 0), ran: false };
    const rs = [peer, result("ours", 800, 250, 3, "peer")];
    compareWithBaselines(rs);
    expect(rs[1]?.vsBaseline).toBeUndefined();
  });

  it("flags cases with errors, no requests, or that did not run", () => {
    const ok = result("ok", 1, 1, 1);
    const errs = { ...result("errs", 1, 1, 1), errors: 1 };
    const none = { ...result("none", 1, 1, 1), requests: 0 };
    expect(failedCases([ok, errs, none]).map((r) => r.id)).toEqual(["errs", "none"]);
  });
});
