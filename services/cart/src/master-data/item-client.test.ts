import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { errorOf, testAuth } from "@pos/common/testing";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { TaxSchema } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import {
  createMasterDataApp,
  createMemoryItemStore,
  demo,
  demoItemCode,
  type ItemStore,
  listTaxes,
  StoreUnavailableError,
  seedDemoCatalogue,
} from "@pos/master-data";
import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createItemClient, type ItemClientOptions } from "./item-client.js";
import {
  clientKinds,
  createMasterDataTransport,
  type MasterDataTransport,
  type MasterDataTransportConfig,
  type MasterDataTransportOptions,
} from "./transport.js";

type Wire = Omit<MasterDataTransportConfig, "url">;

/** The five transports cart may be configured with, and what master-data must see for each. */
const protocolWires: { wire: Wire; httpVersion: string; contentType: RegExp }[] = [
  {
    wire: { protocol: "connect", httpVersion: "1.1", format: "json" },
    httpVersion: "1.1",
    contentType: /^application\/json/,
  },
  {
    wire: { protocol: "connect", httpVersion: "1.1", format: "binary" },
    httpVersion: "1.1",
    contentType: /^application\/proto/,
  },
  {
    wire: { protocol: "connect", httpVersion: "2", format: "binary" },
    httpVersion: "2.0",
    contentType: /^application\/proto/,
  },
  {
    wire: { protocol: "grpc", httpVersion: "2", format: "binary" },
    httpVersion: "2.0",
    contentType: /^application\/grpc(\+proto)?$/,
  },
  {
    wire: { protocol: "grpc-web", httpVersion: "1.1", format: "binary" },
    httpVersion: "1.1",
    contentType: /^application\/grpc-web\+proto/,
  },
];

/** Every wire with each client (ours and connect-node's): the same results, the same bytes on the wire. */
const wires = clientKinds.flatMap((client) => protocolWires.map((w) => ({ ...w, wire: { ...w.wire, client } })));

const scope = { tenantId: demo.tenantId, storeCode: demo.storeCode, terminalId: "R01" };
const batchPath = "/pos.masterdata.v1.ItemService/BatchGetItemDetails";
const taxesPath = "/pos.masterdata.v1.ItemService/ListTaxes";
// Quick backoffs: these tests are about what is sent, not how long we wait.
const fast: MasterDataTransportOptions = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };

const opened: MasterDataTransport[] = [];
function transportTo(baseUrl: string, wire: Wire, options: MasterDataTransportOptions = {}): MasterDataTransport {
  const t = createMasterDataTransport(
    { url: baseUrl, ...wire },
    { credential: testAuth.serviceInterceptor, ...options },
  );
  opened.push(t);
  return t;
}
function clientOver(baseUrl: string, wire: Wire, options: ItemClientOptions & MasterDataTransportOptions = {}) {
  return createItemClient(transportTo(baseUrl, wire, options), options);
}
afterEach(() => {
  for (const t of opened.splice(0)) t.close();
});

function requestsTo(seen: RunningMasterData["seen"], path: string): RunningMasterData["seen"] {
  return seen.filter((s) => s.url.startsWith(path));
}

/** Delegates to a real store; throws StoreUnavailableError while `down`, answers after `delayMs`. */
function createSwitchableStore(inner: ItemStore) {
  const state = { down: false, delayMs: 0 };
  const gate = async (): Promise<void> => {
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    if (state.down) throw new StoreUnavailableError("item store unavailable (switched off by the test)");
  };
  const store: ItemStore = {
    getItems: async (...a) => {
      await gate();
      return inner.getItems(...a);
    },
    listItems: async (...a) => {
      await gate();
      return inner.listItems(...a);
    },
    hasTenant: async (...a) => {
      await gate();
      return inner.hasTenant(...a);
    },
    ping: async () => {
      await gate();
      return inner.ping();
    },
    upsertItem: async (...a) => {
      await gate();
      return inner.upsertItem(...a);
    },
    deleteItem: async (...a) => {
      await gate();
      return inner.deleteItem(...a);
    },
    upsertStorePrice: async (...a) => {
      await gate();
      return inner.upsertStorePrice(...a);
    },
    importRecords: (...a) => inner.importRecords(...a),
    countItems: async (...a) => {
      await gate();
      return inner.countItems(...a);
    },
    close: () => inner.close(),
  };
  return { store, state };
}

/** master-data on a given port (0 = a free port), seeing every request first: the harness's app is already listening. */
async function listenMasterData(
  store: ItemStore,
  port: number,
  onRequest?: (req: { url?: string | undefined; headers: IncomingHttpHeaders }) => void,
): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = await createMasterDataApp(store, {
    logLevel: "silent",
    logRequests: false,
    readMaxBytes: 1 << 20,
    tls: undefined,
    auth: await testAuth.open(),
    observeRequest: onRequest,
  });
  await app.listen({ host: "127.0.0.1", port });
  return { app, baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

describe("item client over a real master-data", () => {
  let md: RunningMasterData;
  beforeAll(async () => {
    md = await startMasterData();
  });
  afterAll(async () => {
    await md.close();
  });

  describe.each(wires)(
    "$wire.protocol over HTTP/$wire.httpVersion ($wire.format), $wire.client client",
    ({ wire, httpVersion, contentType }) => {
      it("gets the catalogue's items in ONE BatchGetItemDetails, unknown codes in notFound", async () => {
        const codes = [demoItemCode(1), demoItemCode(2), "NO-SUCH-ITEM", demoItemCode(9_999)];
        const expected = await md.store.getItems(scope.tenantId, scope.storeCode, codes);
        const client = clientOver(md.baseUrl, wire, fast);
        const before = md.seen.length;

        const got = await client.getItems(scope, codes);

        expect([...got.items.keys()]).toEqual([demoItemCode(1), demoItemCode(2), demoItemCode(9_999)]);
        expect(got.notFound).toEqual(["NO-SUCH-ITEM"]);
        // Every field survives every protocol, as the catalogue holds it.
        const json = (codes: string[]) => codes.map((c) => toJson(ItemSchema, got.items.get(c)!));
        expect(json([demoItemCode(1), demoItemCode(2), demoItemCode(9_999)])).toEqual(
          [demoItemCode(1), demoItemCode(2), demoItemCode(9_999)].map((c) =>
            toJson(ItemSchema, expected.find((i) => i.itemCode === c)!),
          ),
        );
        const sent = md.seen.slice(before);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({ url: batchPath, method: "POST", httpVersion });
        expect(sent[0]!.contentType).toMatch(contentType);
      });

      it("gets the tax master", async () => {
        const client = clientOver(md.baseUrl, wire, fast);
        const taxes = await client.getTaxes(scope.tenantId);
        expect(taxes.map((t) => toJson(TaxSchema, t))).toEqual(listTaxes().map((t) => toJson(TaxSchema, t)));
      });

      it("passes NotFound for an unknown tenant through, with one request and master-data's message", async () => {
        const client = clientOver(md.baseUrl, wire, fast);
        const before = md.seen.length;
        const err = await errorOf(client.getItems({ ...scope, tenantId: "T9999" }, [demoItemCode(1)]));
        expect(err.code).toBe(Code.NotFound);
        expect(err.rawMessage).toBe('tenant "T9999" has no catalogue');
        expect(md.seen.length - before).toBe(1);
        expect(client.stats()).toMatchObject({ retries: 0, breaker: "closed" });
      });
    },
  );

  describe("batching, coalescing, caching", () => {
    const wire: Wire = { protocol: "connect", httpVersion: "2", format: "binary" };

    it("splits more than 500 codes into chunks of 500", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      const codes = Array.from({ length: 1_200 }, (_, i) => demoItemCode(i));
      const before = requestsTo(md.seen, batchPath).length;
      const got = await client.getItems(scope, codes);
      expect(got.items.size).toBe(1_200);
      expect(got.notFound).toEqual([]);
      expect(requestsTo(md.seen, batchPath).length - before).toBe(3);
      expect(client.stats().calls).toBe(3);
    });

    it("coalesces 10 concurrent lookups of the same code into one request", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      const before = requestsTo(md.seen, batchPath).length;
      const results = await Promise.all(Array.from({ length: 10 }, () => client.getItems(scope, [demoItemCode(42)])));
      expect(requestsTo(md.seen, batchPath).length - before).toBe(1);
      for (const r of results) expect(r.items.get(demoItemCode(42))).toBe(results[0]!.items.get(demoItemCode(42)));
      expect(client.stats()).toMatchObject({ calls: 1, coalesced: 9 });
    });

    it("sends the codes of concurrent cart calls in one request; each caller gets its own items", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      const before = requestsTo(md.seen, batchPath).length;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          client.getItems({ ...scope, terminalId: `R0${i}` }, [demoItemCode(300 + i), "GHOST"], { timeoutMs: 2_000 }),
        ),
      );
      expect(requestsTo(md.seen, batchPath).length - before).toBe(1);
      results.forEach((r, i) => {
        expect([...r.items.keys()]).toEqual([demoItemCode(300 + i)]);
        expect(r.notFound).toEqual(["GHOST"]);
      });
      // GHOST went once, joined by the five others.
      expect(client.stats()).toMatchObject({ calls: 1, batched: 7, coalesced: 5 });
    });

    it("with batching off, each cart call sends its own request", async () => {
      const client = clientOver(md.baseUrl, wire, { ...fast, batching: false });
      const before = requestsTo(md.seen, batchPath).length;
      await Promise.all(Array.from({ length: 4 }, (_, i) => client.getItems(scope, [demoItemCode(310 + i)])));
      expect(requestsTo(md.seen, batchPath).length - before).toBe(4);
      expect(client.stats()).toMatchObject({ calls: 4, batched: 0 });
    });

    it("coalesces a code not found in the catalogue too", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      const before = requestsTo(md.seen, batchPath).length;
      const results = await Promise.all(Array.from({ length: 5 }, () => client.getItems(scope, ["GHOST"])));
      expect(results.map((r) => r.notFound)).toEqual(Array.from({ length: 5 }, () => ["GHOST"]));
      expect(requestsTo(md.seen, batchPath).length - before).toBe(1);
    });

    it("answers cached items without the network; only the missing codes go out", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      await client.getItems(scope, [demoItemCode(7), demoItemCode(8)]);
      const before = requestsTo(md.seen, batchPath).length;

      const again = await client.getItems(scope, [demoItemCode(7), demoItemCode(8)]);
      expect(again.items.size).toBe(2);
      expect(requestsTo(md.seen, batchPath).length - before).toBe(0);

      await client.getItems(scope, [demoItemCode(7), demoItemCode(9)]);
      expect(requestsTo(md.seen, batchPath).length - before).toBe(1);
      expect(client.stats()).toMatchObject({ calls: 2, cacheHits: 3, cacheMisses: 3 });
    });

    it("does not cache unknown codes, and keys the cache by store", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      await client.getItems(scope, ["GHOST", demoItemCode(3)]);
      const before = requestsTo(md.seen, batchPath).length;
      expect((await client.getItems(scope, ["GHOST"])).notFound).toEqual(["GHOST"]);
      await client.getItems({ ...scope, storeCode: "S0002" }, [demoItemCode(3)]);
      expect(requestsTo(md.seen, batchPath).length - before).toBe(2);
    });

    it("expires cached items after the TTL", async () => {
      let clock = 1_000_000;
      const client = clientOver(md.baseUrl, wire, {
        ...fast,
        now: () => clock,
        cache: { ttlMs: 30_000 },
      });
      await client.getItems(scope, [demoItemCode(11)]);
      const before = requestsTo(md.seen, batchPath).length;
      clock += 30_000;
      await client.getItems(scope, [demoItemCode(11)]);
      expect(requestsTo(md.seen, batchPath).length - before).toBe(0);
      clock += 1;
      await client.getItems(scope, [demoItemCode(11)]);
      expect(requestsTo(md.seen, batchPath).length - before).toBe(1);
    });

    it("caches and coalesces the tax master per tenant", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      const before = requestsTo(md.seen, taxesPath).length;
      const all = await Promise.all(Array.from({ length: 5 }, () => client.getTaxes(scope.tenantId)));
      await client.getTaxes(scope.tenantId);
      expect(requestsTo(md.seen, taxesPath).length - before).toBe(1);
      expect(new Set(all).size).toBe(1);
    });

    it("records the latency of calls it made", async () => {
      const client = clientOver(md.baseUrl, wire, fast);
      for (let i = 0; i < 5; i++) await client.getItems(scope, [demoItemCode(100 + i)]);
      const { latency } = client.stats();
      expect(latency.count).toBe(5);
      expect(latency.p50Ms).toBeGreaterThan(0);
      expect(latency.p99Ms).toBeGreaterThanOrEqual(latency.p50Ms);
      expect(latency.sumMs).toBeGreaterThan(0);
    });
  });
});

describe("item client when master-data's store fails", () => {
  let md: RunningMasterData;
  let store: ReturnType<typeof createSwitchableStore>;
  beforeAll(async () => {
    const inner = createMemoryItemStore();
    await seedDemoCatalogue(inner);
    store = createSwitchableStore(inner);
    md = await startMasterData({ store: store.store });
  });
  afterEach(() => {
    store.state.down = false;
    store.state.delayMs = 0;
  });
  afterAll(async () => {
    await md.close();
  });
  const wire: Wire = { protocol: "grpc", httpVersion: "2", format: "binary" };

  it("retries Unavailable (3 attempts reach master-data), then reports it as Unavailable", async () => {
    const client = clientOver(md.baseUrl, wire, fast);
    store.state.down = true;
    const before = requestsTo(md.seen, batchPath).length;
    const err = await errorOf(client.getItems(scope, [demoItemCode(1)]));
    expect(err.code).toBe(Code.Unavailable);
    // Named by the dependency and the code; what master-data said is the cause, for the log.
    expect(err.rawMessage).toBe("master-data unavailable");
    expect(requestsTo(md.seen, batchPath).length - before).toBe(3);
    expect(client.stats()).toMatchObject({ calls: 1, retries: 2, breaker: "closed" });

    store.state.down = false;
    expect((await client.getItems(scope, [demoItemCode(1)])).items.size).toBe(1);
  });

  it("retries an attempt that ran out of its own time, and calls it Unavailable", async () => {
    const client = clientOver(md.baseUrl, wire, { ...fast, timeoutMs: 50 });
    store.state.delayMs = 300;
    const before = requestsTo(md.seen, batchPath).length;
    const err = await errorOf(client.getItems(scope, [demoItemCode(2)]));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("master-data unavailable: no answer within 50 ms");
    // Three attempts left cart; on a loaded machine one may time out before master-data logs it.
    expect(client.stats()).toMatchObject({ retries: 2, latency: { count: 3 } });
    expect(requestsTo(md.seen, batchPath).length - before).toBeLessThanOrEqual(3);
  });

  it("keeps the caller's own deadline as DeadlineExceeded: no retry, no breaker failure", async () => {
    const client = clientOver(md.baseUrl, wire, {
      ...fast,
      breaker: { failureThreshold: 1 },
    });
    store.state.delayMs = 300;
    const before = requestsTo(md.seen, batchPath).length;
    const err = await errorOf(client.getItems(scope, [demoItemCode(3)], { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    // One attempt left cart (it may time out before master-data logs it), and no retry followed.
    expect(client.stats()).toMatchObject({ retries: 0, breaker: "closed", latency: { count: 1 } });
    expect(requestsTo(md.seen, batchPath).length - before).toBeLessThanOrEqual(1);
  });

  it("stops at once when the caller aborts", async () => {
    const client = clientOver(md.baseUrl, wire, fast);
    store.state.delayMs = 300;
    const ac = new AbortController();
    const before = requestsTo(md.seen, batchPath).length;
    const pending = client.getItems(scope, [demoItemCode(4)], { signal: ac.signal });
    await vi.waitFor(() => expect(requestsTo(md.seen, batchPath).length - before).toBe(1), {
      timeout: 5_000,
      interval: 5,
    });
    ac.abort();
    const err = await errorOf(pending);
    expect(err.code).toBe(Code.Canceled);
    expect(client.stats()).toMatchObject({ retries: 0, breaker: "closed" });
    expect(requestsTo(md.seen, batchPath).length - before).toBe(1);
  });

  it("a caller joined to an aborted caller's fetch fetches for itself", async () => {
    const client = clientOver(md.baseUrl, wire, fast);
    store.state.delayMs = 100;
    const ac = new AbortController();
    const first = client.getItems(scope, [demoItemCode(5)], { signal: ac.signal });
    const second = client.getItems(scope, [demoItemCode(5)]);
    ac.abort();
    expect((await errorOf(first)).code).toBe(Code.Canceled);
    expect((await second).items.size).toBe(1);
    expect(client.stats().coalesced).toBe(1);
  });

  it("stops retrying once the shared retry budget is spent", async () => {
    const client = clientOver(md.baseUrl, wire, {
      ...fast,
      breaker: { failureThreshold: 1_000 },
    });
    store.state.down = true;
    const before = requestsTo(md.seen, batchPath).length;
    for (let i = 0; i < 10; i++) await errorOf(client.getItems(scope, [demoItemCode(200 + i)]));
    // 10 tokens, 1 per failure, retries only above 5: 3 + 2 attempts, then one per call.
    expect(requestsTo(md.seen, batchPath).length - before).toBe(3 + 2 + 8);
    expect(client.stats().retryTokens).toBe(0);
  });
});

describe("deadline propagation", () => {
  let app: FastifyInstance;
  let baseUrl: string;
  let store: ItemStore;
  const timeouts: Record<string, string | undefined>[] = [];
  beforeAll(async () => {
    store = createMemoryItemStore();
    await seedDemoCatalogue(store);
    ({ app, baseUrl } = await listenMasterData(store, 0, (req) => {
      if (!req.url?.startsWith(batchPath)) return;
      const header = (h: string) => (typeof req.headers[h] === "string" ? (req.headers[h] as string) : undefined);
      timeouts.push({ connect: header("connect-timeout-ms"), grpc: header("grpc-timeout") });
    }));
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it.each([
    [{ protocol: "connect", httpVersion: "1.1", format: "binary" } as Wire, "connect"],
    [{ protocol: "grpc", httpVersion: "2", format: "binary" } as Wire, "grpc"],
    [{ protocol: "grpc-web", httpVersion: "1.1", format: "binary" } as Wire, "grpc"],
  ] as const)("%s: a caller's shorter deadline reaches master-data; otherwise the client's", async (wire, header) => {
    const client = clientOver(baseUrl, wire, { ...fast, timeoutMs: 3_000 });
    timeouts.length = 0;
    await client.getItems(scope, [demoItemCode(1)], { timeoutMs: 800 });
    await client.getItems(scope, [demoItemCode(2)], { timeoutMs: 10_000 });
    await client.getItems(scope, [demoItemCode(3)]);
    const ms = timeouts.map((t) => parseTimeoutMs(t[header]));
    expect(ms[0]).toBeLessThanOrEqual(800);
    expect(ms[0]).toBeGreaterThan(700);
    expect(ms.slice(1)).toEqual([3_000, 3_000]);
  });
});

/** connect-timeout-ms is plain milliseconds; grpc-timeout is a number and a unit. */
function parseTimeoutMs(value: string | undefined): number {
  expect(value).toBeDefined();
  const m = /^(\d+)([HMSmun]?)$/.exec(value!);
  expect(m).not.toBeNull();
  const scale: Record<string, number> = { "": 1, H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };
  return Number(m![1]) * scale[m![2]!]!;
}

describe.each([
  { protocol: "connect", httpVersion: "1.1", format: "binary" } as Wire,
  { protocol: "grpc", httpVersion: "2", format: "binary" } as Wire,
])("master-data stopped and restarted ($protocol over HTTP/$httpVersion)", (wire) => {
  it("fails fast with Unavailable once the breaker opens, and recovers by itself", async () => {
    const md = await startMasterData();
    let restarted: FastifyInstance | undefined;
    try {
      const client = clientOver(md.baseUrl, wire, {
        ...fast,
        // Long enough that a loaded machine cannot let it half-open before the test looks.
        breaker: { failureThreshold: 5, openMs: 3_000, minOpenMs: 3_000 },
      });
      expect((await client.getItems(scope, [demoItemCode(1)])).items.size).toBe(1);

      await md.app.close();
      // Fresh codes each time, so the cache cannot answer.
      let code = 1_000;
      for (let i = 0; i < 10 && client.stats().breaker !== "open"; i++) {
        const err = await errorOf(client.getItems(scope, [demoItemCode(code++)]));
        expect(err.code).toBe(Code.Unavailable);
        expect(err.rawMessage).toMatch(/^master-data unavailable/);
      }
      expect(client.stats().breaker).toBe("open");

      // Failing fast: the call never reaches the transport (the latency interceptor sits under the breaker).
      const { latency, breakerRejected } = client.stats();
      const err = await errorOf(client.getItems(scope, [demoItemCode(code++)]));
      expect(client.stats().latency.count).toBe(latency.count);
      expect(client.stats().breakerRejected).toBe(breakerRejected + 1);
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(
        /^master-data unavailable: circuit breaker open after 5 consecutive failures \(last: Unavailable\); next probe in \d+\.\d s$/,
      );
      expect(client.stats().breakerRejected).toBeGreaterThanOrEqual(1);

      ({ app: restarted } = await listenMasterData(md.store, md.port));
      await vi.waitFor(
        async () => {
          expect((await client.getItems(scope, [demoItemCode(code++)])).items.size).toBe(1);
        },
        { timeout: 10_000, interval: 25 },
      );
      expect(client.stats().breaker).toBe("closed");
    } finally {
      await restarted?.close();
      await md.store.close();
    }
  });
});
