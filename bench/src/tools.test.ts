import { describe, expect, it } from "vitest";
import { ghzArgs, h2loadArgs, luaString, parseGhz, parseH2load, parseWrk, wrkScript } from "./tools.js";

describe("wrk", () => {
  it("escapes bytes for Lua so binary bodies survive", () => {
    expect(luaString(new Uint8Array([0, 65, 34, 92, 200]))).toBe('"\\0A\\34\\92\\200"');
  });

  it("writes a script with every body and the checks", () => {
    const script = wrkScript(
      "/p",
      { "content-type": "application/json" },
      [new TextEncoder().encode('{"a":1}')],
      ["ITEM"],
    );
    expect(script).toContain('"{\\34a\\34:1}"');
    expect(script).toContain('["content-type"] = "application/json"');
    expect(script).toContain('local expect = { "ITEM" }');
  });

  it("parses the JSON line its done() prints; bad answers and socket errors are errors", () => {
    const out =
      'Running 2s test\nWRK_JSON {"requests":1000,"durationUs":2000000,"bad":3,"connect":0,"read":1,"write":0,"status":3,"timeout":2,"meanUs":1500.5,"p50Us":1200,"p90Us":2500,"p99Us":9000,"maxUs":12000}\n';
    const r = parseWrk(out);
    expect(r.requests).toBe(1000);
    expect(r.errors).toBe(6);
    expect(r.windowMs).toBe(2000);
    expect(r.latency).toMatchObject({ p50Ms: 1.2, p90Ms: 2.5, p99Ms: 9, maxMs: 12 });
  });

  it("fails loudly when the line is missing", () => {
    expect(() => parseWrk("oops")).toThrow(/WRK_JSON/);
  });
});

describe("h2load", () => {
  it("uses one connection with as many streams as the concurrency", () => {
    const args = h2loadArgs(
      "http://h/p",
      "b.bin",
      { "content-type": "application/grpc", te: "trailers" },
      16,
      5,
      "log.tsv",
    );
    expect(args).toEqual(expect.arrayContaining(["-c1", "-m16", "-D5", "-H", "te: trailers", "--log-file=log.tsv"]));
  });

  it("takes counts from the summary and latencies/status from the per-request log", () => {
    const stdout =
      "finished in 2.00s, 3 req/s\nrequests: 3 total, 3 started, 3 done, 2 succeeded, 1 failed, 0 errored, 0 timeout\n";
    const log = "1700000000000000\t200\t1000\n1700000000000100\t200\t3000\n1700000000000200\t503\t2000\n";
    const r = parseH2load(stdout, log);
    expect(r.requests).toBe(3);
    expect(r.errors).toBe(1);
    expect(r.windowMs).toBe(2000);
    expect(r.latency).toMatchObject({ p50Ms: 2, maxMs: 3 });
  });

  it("counts a gRPC answer without its message (an error status, HTTP 200) as an error", () => {
    const stdout =
      "finished in 2.00s, 3 req/s\nrequests: 3 total, 3 started, 3 done, 3 succeeded, 0 failed, 0 errored, 0 timeout\n" +
      "traffic: 1.00KB (1024) total, 300B (300) headers (space savings 90.00%), 200B (200) data\n";
    const log = "1700000000000000\t200\t1000\n1700000000000100\t200\t3000\n1700000000000200\t200\t2000\n";
    expect(parseH2load(stdout, log, 100).errors).toBe(1);
    expect(parseH2load(stdout, log, 200 / 3).errors).toBe(0);
    expect(() =>
      parseH2load("requests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout", log, 10),
    ).toThrow(/traffic/);
  });
});

describe("ghz", () => {
  it("runs a duration, or a count once the warm-up told the rate", () => {
    expect(ghzArgs("h:1", "x.protoset", "a.B.C", "d.json", 8, { durationS: 2 }, "o.json")).toEqual(
      expect.arrayContaining(["-z", "2s", "-c", "8", "--connections", "1"]),
    );
    expect(ghzArgs("h:1", "x.protoset", "a.B.C", "d.json", 8, { count: 5000 }, "o.json")).toEqual(
      expect.arrayContaining(["-n", "5000"]),
    );
  });

  it("counts non-OK statuses as errors and reads nanoseconds", () => {
    const json = JSON.stringify({
      count: 100,
      total: 2e9,
      average: 1.5e6,
      slowest: 9e6,
      latencyDistribution: [
        { percentage: 50, latency: 1e6 },
        { percentage: 90, latency: 2e6 },
        { percentage: 99, latency: 5e6 },
      ],
      statusCodeDistribution: { OK: 98, Unavailable: 2 },
      errorDistribution: { "rpc error: code = Unavailable": 2 },
    });
    const r = parseGhz(json);
    expect(r).toMatchObject({ requests: 100, errors: 2, windowMs: 2000 });
    expect(r.latency).toMatchObject({ p50Ms: 1, p90Ms: 2, p99Ms: 5, maxMs: 9, meanMs: 1.5 });
    expect(r.errorSamples?.[0]).toContain("2 × rpc error");
  });
});
