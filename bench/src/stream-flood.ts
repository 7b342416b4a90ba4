import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { performance } from "node:perf_hooks";
import { spawnService } from "@pos/common/testing";
import { masterDataMain } from "@pos/master-data/testing";

// `pnpm --filter @pos/bench stream-flood`: issue 9's attack on a real master-data process, with the
// HTTP/2 limits lifted to what they were (no stream cap, no session bound, no stall timeout) and
// with the defaults: 5 connections each opening 180 ListItems streams (1,000 items a page) that
// they never read. Prints the server's resident memory and the latency of a normal call on a new
// connection, before, during and after the flood. A measurement, not a test (see README: limits).

const connections = 5;
const streamsEach = 180;
const settleMs = 5_000;
const laterMs = 35_000;

const modes: { name: string; env: Record<string, string> }[] = [
  {
    name: "limits lifted (as before issue 9)",
    env: {
      HTTP2_MAX_CONCURRENT_STREAMS: "4294967295",
      HTTP2_MAX_SESSION_MEMORY_MB: "100000",
      HTTP2_STALLED_STREAM_MS: "0",
    },
  },
  { name: "defaults", env: {} },
];

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
  return Number(m?.[1] ?? 0) / 1024;
}

/**
 * What the process holds, from its own /metrics (prom-client): the V8 heap in use plus external
 * memory (Buffers: unread responses sit there). RSS also counts what the allocator keeps after a free.
 */
async function heldMb(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const metric = (name: string) => Number(text.match(new RegExp(`^${name} (\\d+(?:\\.\\d+)?)`, "m"))?.[1] ?? 0);
  return (metric("nodejs_heap_size_used_bytes") + metric("nodejs_external_memory_bytes")) / 1024 / 1024;
}

function post(session: http2.ClientHttp2Session, method: string, body: object): http2.ClientHttp2Stream {
  const req = session.request({
    ":method": "POST",
    ":path": `/pos.masterdata.v1.ItemService/${method}`,
    "content-type": "application/json",
  });
  req.end(JSON.stringify(body));
  return req;
}

/** One GetItemDetail over a NEW connection, then 19 more on it: first-call and median latency in ms. */
async function normalCalls(url: string): Promise<{ firstMs: number; medianMs: number; failed: number }> {
  const session = http2.connect(url);
  session.on("error", () => {});
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      const req = post(session, "GetItemDetail", { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });
      const timer = setTimeout(() => resolve(false), 30_000);
      req.on("response", (h) => {
        req.resume();
        req.on("end", () => {
          clearTimeout(timer);
          resolve(h[":status"] === 200);
        });
      });
      req.on("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ok) failed++;
    times.push(performance.now() - started);
  }
  session.destroy();
  const sorted = [...times].sort((a, b) => a - b);
  return { firstMs: times[0] ?? 0, medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, failed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => n.toFixed(1);

for (const mode of modes) {
  const proc = spawnService(masterDataMain, { MASTER_DATA_PORT: "0", LOG_LEVEL: "info", ...mode.env });
  const port = await proc.port();
  const url = `http://127.0.0.1:${port}`;
  const pid = proc.child.pid ?? 0;
  await normalCalls(url);
  const idle = { rss: rssMb(pid), heap: await heldMb(url), ...(await normalCalls(url)) };
  const flood = { responded: 0, reset: 0 };
  const sessions = Array.from({ length: connections }, () => {
    const session = http2.connect(url);
    session.on("error", () => {});
    for (let i = 0; i < streamsEach; i++) {
      const req = post(session, "ListItems", { tenantId: "T0001", storeCode: "S0001", pageSize: 1000 });
      req.pause();
      req.on("response", () => flood.responded++);
      req.on("error", () => {});
      req.on("close", () => {
        if (req.rstCode !== undefined && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR) flood.reset++;
      });
    }
    return session;
  });
  await sleep(settleMs);
  const during = {
    rss: rssMb(pid),
    heap: await heldMb(url),
    ...(await normalCalls(url)),
    responded: flood.responded,
    reset: flood.reset,
  };
  await sleep(laterMs - settleMs);
  const later = {
    rss: rssMb(pid),
    heap: await heldMb(url),
    ...(await normalCalls(url)),
    responded: flood.responded,
    reset: flood.reset,
  };
  for (const s of sessions) s.destroy();
  await sleep(2_000);
  const after = { rss: rssMb(pid), heap: await heldMb(url), ...(await normalCalls(url)) };
  await proc.stop();
  console.log(`\n${mode.name} (${connections} connections × ${streamsEach} unread ListItems streams)`);
  console.log(
    "| when | server RSS / heap + external MB | normal call on a new connection: first / median ms | failed | flood streams answered / reset |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  console.log(
    `| idle | ${fmt(idle.rss)} / ${fmt(idle.heap)} | ${fmt(idle.firstMs)} / ${fmt(idle.medianMs)} | ${idle.failed} | – |`,
  );
  console.log(
    `| flood, +${settleMs / 1000} s | ${fmt(during.rss)} / ${fmt(during.heap)} | ${fmt(during.firstMs)} / ${fmt(during.medianMs)} | ${during.failed} | ${during.responded} / ${during.reset} |`,
  );
  console.log(
    `| flood, +${laterMs / 1000} s | ${fmt(later.rss)} / ${fmt(later.heap)} | ${fmt(later.firstMs)} / ${fmt(later.medianMs)} | ${later.failed} | ${later.responded} / ${later.reset} |`,
  );
  console.log(
    `| flood gone, +2 s | ${fmt(after.rss)} / ${fmt(after.heap)} | ${fmt(after.firstMs)} / ${fmt(after.medianMs)} | ${after.failed} | – |`,
  );
}
