import http from "node:http";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { type ClientKind, createWireTransport, type MasterDataTransportConfig } from "@pos/cart";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { BatchGetItemDetailsRequestSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { sendHeaders } from "./node-callers.js";
import { readCpu } from "./proc-stats.js";
import { batchGetPath, batchRequest, demo, distinctItemCodes, seededRandom } from "./requests.js";
import { type LatencySummary, summarizeLatencies } from "./stats.js";

// The client-side bench process (its own process, so its CPU is its own). Two scenarios:
//  - "floor": BatchGetItemDetails with one code (what cart sends per AddLineItems) to master-data,
//    one call at a time, back to back and paced, through a bare node:http / node:http2 request of
//    the same bytes and through each of cart's client transports (ours and connect-node's);
//  - "lines": AddLineItems of one item on carts that already hold N lines, one call at a time.
// Reads its spec (JSON) from argv[2]; prints one JSON result on stdout.

export type FloorKind = "bare-h1" | "bare-h2" | { client: ClientKind; wire: Omit<MasterDataTransportConfig, "url"> };

export interface FloorSpec {
  scenario: "floor";
  baseUrl: string;
  masterDataPid: number;
  kinds: FloorKind[];
  calls: number;
  pacedCalls: number;
  /** Idle time before each paced call: long enough for both processes to fall asleep. */
  pacedGapMs: [number, number];
  /** The modes to measure (default both): a probe next to one cart case needs only that case's. */
  modes?: Array<"back-to-back" | "paced">;
  /** Sent with every call: the credential (see credential.ts). */
  headers: Record<string, string>;
}

export interface LinesSpec {
  scenario: "lines";
  baseUrl: string;
  cartPid: number;
  masterDataPid: number;
  /** Lines each cart holds before the measured calls. */
  prefill: number;
  carts: number;
  addsPerCart: number;
  /** Sent with every call: the credential (see credential.ts). */
  headers: Record<string, string>;
}

export interface FloorRow {
  kind: string;
  mode: "back-to-back" | "paced";
  calls: number;
  errors: number;
  latency: LatencySummary;
  clientCpuUsPerCall: number;
  serverCpuUsPerCall: number;
}

export interface LinesResult {
  prefill: number;
  calls: number;
  errors: number;
  latency: LatencySummary;
  cartCpuUsPerCall: number;
  masterDataCpuUsPerCall: number;
}

interface Caller {
  call(codes: string[]): Promise<void>;
  close(): void;
}

export function floorKindLabel(k: FloorKind): string {
  if (k === "bare-h1") return "bare node:http (Connect binary bytes)";
  if (k === "bare-h2") return "bare node:http2 (Connect binary bytes)";
  return `${k.client}: ${k.wire.protocol} ${k.wire.format}, HTTP/${k.wire.httpVersion}`;
}

function bareCaller(baseUrl: string, h2: boolean, credential: Record<string, string>): Caller {
  const encode = (codes: string[]) =>
    toBinary(BatchGetItemDetailsRequestSchema, create(BatchGetItemDetailsRequestSchema, batchRequest(codes)));
  const collect = (res: NodeJS.ReadableStream, resolve: () => void, reject: (e: Error) => void) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => (Buffer.concat(chunks).length > 0 ? resolve() : reject(new Error("empty answer"))));
    res.on("error", reject);
  };
  if (h2) {
    const session = http2.connect(baseUrl);
    return {
      call: (codes) =>
        new Promise((resolve, reject) => {
          const s = session.request({
            ...credential,
            ":method": "POST",
            ":path": batchGetPath,
            "content-type": "application/proto",
          });
          s.on("response", (h) => {
            if (h[":status"] !== 200) reject(new Error(`HTTP ${h[":status"]}`));
          });
          collect(s, resolve, reject);
          s.end(encode(codes));
        }),
      close: () => session.close(),
    };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    call: (codes) =>
      new Promise((resolve, reject) => {
        const body = encode(codes);
        const req = http.request(
          `${baseUrl}${batchGetPath}`,
          {
            method: "POST",
            agent,
            headers: { ...credential, "content-type": "application/proto", "content-length": body.length },
          },
          (res) => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
            collect(res, resolve, reject);
          },
        );
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function transportCaller(
  baseUrl: string,
  kind: Exclude<FloorKind, string>,
  credential: Record<string, string>,
): Caller {
  const t = createWireTransport(
    { url: baseUrl, ...kind.wire, client: kind.client },
    { interceptors: [sendHeaders(credential)] },
  );
  const client = createClient(ItemService, t.transport);
  return {
    async call(codes) {
      const res = await client.batchGetItemDetails(batchRequest(codes), { timeoutMs: 3000 });
      if (res.items.length !== codes.length) throw new Error(`asked for ${codes.length}, got ${res.items.length}`);
    },
    close: () => t.close(),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const cpuMs = (pid: number) => {
  const c = readCpu(pid);
  return c.userMs + c.systemMs;
};

async function runFloor(spec: FloorSpec): Promise<FloorRow[]> {
  const rows: FloorRow[] = [];
  const random = seededRandom(5);
  for (const kind of spec.kinds) {
    const caller =
      kind === "bare-h1"
        ? bareCaller(spec.baseUrl, false, spec.headers)
        : kind === "bare-h2"
          ? bareCaller(spec.baseUrl, true, spec.headers)
          : transportCaller(spec.baseUrl, kind, spec.headers);
    for (let i = 0; i < 200; i++) await caller.call(distinctItemCodes(random, 1));
    for (const mode of spec.modes ?? (["back-to-back", "paced"] as const)) {
      const n = mode === "paced" ? spec.pacedCalls : spec.calls;
      const samples: number[] = [];
      let errors = 0;
      let clientCpu = 0;
      let serverCpu = 0;
      for (let i = 0; i < n; i++) {
        if (mode === "paced") {
          const [min, max] = spec.pacedGapMs;
          await sleep(min + random() * (max - min));
        }
        const codes = distinctItemCodes(random, 1);
        // CPU read around each call, so a paced row does not count the idle gaps' timers.
        const s0 = cpuMs(spec.masterDataPid);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        try {
          await caller.call(codes);
        } catch {
          errors++;
        }
        samples.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        clientCpu += (c.user + c.system) / 1000;
        serverCpu += cpuMs(spec.masterDataPid) - s0;
      }
      rows.push({
        kind: floorKindLabel(kind),
        mode,
        calls: n,
        errors,
        latency: summarizeLatencies(samples),
        clientCpuUsPerCall: (clientCpu * 1000) / n,
        serverCpuUsPerCall: (serverCpu * 1000) / n,
      });
    }
    caller.close();
  }
  return rows;
}

async function runLines(spec: LinesSpec): Promise<LinesResult> {
  const sessionManager = new Http2SessionManager(spec.baseUrl);
  const client = createClient(
    CartService,
    createGrpcTransport({ baseUrl: spec.baseUrl, sessionManager, interceptors: [sendHeaders(spec.headers)] }),
  );
  const random = seededRandom(9);
  const scope = { tenantId: demo.tenantId, storeCode: demo.storeCode };
  // Prefill (not measured): carts of `prefill` lines, at most 100 per AddLineItems.
  const refs = [];
  for (let c = 0; c < spec.carts; c++) {
    const { cart } = await client.createCart({ ...scope, terminalId: "R01", staffId: "S1" });
    const ref = { ...scope, cartId: cart?.cartId ?? "" };
    for (let left = spec.prefill; left > 0; left -= 100) {
      const codes = Array.from({ length: Math.min(100, left) }, () => distinctItemCodes(random, 1)[0] ?? "ITEM0001");
      await client.addLineItems({ cart: ref, items: codes.map((itemCode) => ({ itemCode, quantity: 1 })) });
    }
    refs.push(ref);
  }
  // Two unmeasured rounds first: the measured calls are a warm process's, not the JIT's first ones.
  for (let round = 0; round < 2; round++) {
    for (const ref of refs) {
      const itemCode = distinctItemCodes(random, 1)[0] ?? "ITEM0001";
      await client.addLineItems({ cart: ref, items: [{ itemCode, quantity: 1 }] });
    }
  }
  const samples: number[] = [];
  let errors = 0;
  const cart0 = cpuMs(spec.cartPid);
  const md0 = cpuMs(spec.masterDataPid);
  for (let round = 0; round < spec.addsPerCart; round++) {
    for (const ref of refs) {
      const itemCode = distinctItemCodes(random, 1)[0] ?? "ITEM0001";
      const t0 = performance.now();
      try {
        const { cart } = await client.addLineItems({ cart: ref, items: [{ itemCode, quantity: 1 }] });
        if (cart?.lines.at(-1)?.itemCode !== itemCode) errors++;
      } catch {
        errors++;
      }
      samples.push(performance.now() - t0);
    }
  }
  const calls = samples.length;
  const result = {
    prefill: spec.prefill,
    calls,
    errors,
    latency: summarizeLatencies(samples),
    cartCpuUsPerCall: ((cpuMs(spec.cartPid) - cart0) * 1000) / calls,
    masterDataCpuUsPerCall: ((cpuMs(spec.masterDataPid) - md0) * 1000) / calls,
  };
  sessionManager.abort();
  return result;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as FloorSpec | LinesSpec;
  const result = spec.scenario === "floor" ? await runFloor(spec) : await runLines(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (process.argv[1]?.endsWith("floor-client.ts")) {
  main().catch((e: unknown) => {
    console.error(`floor client failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  });
}
