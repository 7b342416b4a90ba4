import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// One sale across the two real processes, both exporting OTLP/HTTP to a receiver in this test that
// keeps every span in memory: the W3C traceparent must chain cart's server span → cart's client span
// → master-data's server span → master-data's store span, over every protocol cart can speak.
const cartMain = fileURLToPath(new URL("../src/main.ts", import.meta.url));

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

const attrs = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));

/** An OTLP/HTTP JSON receiver: the in-memory exporter of two real processes. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => {
      body += b.toString();
    });
    req.on("end", () => {
      const data = JSON.parse(body) as OtlpExport;
      for (const rs of data.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)["service.name"]);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// OTLP span kinds: 2 server, 3 client.
const SERVER = 2;
const CLIENT = 3;

describe("tracing across cart and master-data (two real processes, OTLP)", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let masterData: ServiceProcess;
  let masterDataUrl: string;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    masterData = spawnService(masterDataMain, {
      MASTER_DATA_PORT: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      LOG_REQUESTS: "true",
    });
    masterDataUrl = `http://127.0.0.1:${await masterData.port(30_000)}`;
  });
  afterAll(async () => {
    await Promise.all([masterData?.stop("SIGKILL"), ...running.map((p) => p.stop("SIGKILL"))]);
    receiver?.server.close();
  });

  for (const transport of [
    { MASTER_DATA_PROTOCOL: "connect", MASTER_DATA_HTTP_VERSION: "1.1", MASTER_DATA_FORMAT: "json" },
    { MASTER_DATA_PROTOCOL: "grpc", MASTER_DATA_HTTP_VERSION: "2", MASTER_DATA_FORMAT: "binary" },
    // connect-node's transports instead of the lean client: the same interceptors, the same chain.
    {
      MASTER_DATA_PROTOCOL: "grpc",
      MASTER_DATA_HTTP_VERSION: "2",
      MASTER_DATA_FORMAT: "binary",
      MASTER_DATA_CLIENT: "connect-node",
    },
    { MASTER_DATA_PROTOCOL: "grpc-web", MASTER_DATA_HTTP_VERSION: "1.1", MASTER_DATA_FORMAT: "binary" },
  ] as Record<string, string>[]) {
    it(`chains cart → master-data → store spans over ${Object.values(transport).join(" ")}`, async () => {
      const cart = spawnService(cartMain, {
        CART_PORT: "0",
        MASTER_DATA_URL: masterDataUrl,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        ITEM_CACHE_TTL_MS: "0",
        ...transport,
      });
      running.push(cart);
      // Each case runs its own cart process: its spans are the ones received from here on.
      const from = receiver.spans.length;
      const client = createClient(
        CartService,
        createConnectTransport({
          baseUrl: `http://127.0.0.1:${await cart.port(30_000)}`,
          httpVersion: "1.1",
          interceptors,
        }),
      );
      const created = await client.createCart({
        tenantId: "T0001",
        storeCode: "S0001",
        terminalId: "R01",
        staffId: "STAFF1",
      });
      const ref = { tenantId: "T0001", storeCode: "S0001", cartId: created.cart?.cartId ?? "" };
      await client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 2 }] });

      // cart's server span for AddLineItems …
      const cartServer = await until("cart's AddLineItems span", () =>
        receiver.spans
          .slice(from)
          .find((s) => s.service === "cart" && s.kind === SERVER && s.name === "pos.cart.v1.CartService/AddLineItems"),
      );
      const inTrace = () => receiver.spans.filter((s) => s.traceId === cartServer.traceId);
      // … its client span to master-data, labelled with the transport …
      const cartClient = await until("cart's BatchGetItemDetails client span", () =>
        inTrace().find((s) => s.kind === CLIENT && s.name === "pos.masterdata.v1.ItemService/BatchGetItemDetails"),
      );
      expect(cartClient.service).toBe("cart");
      expect(cartClient.parentSpanId).toBe(cartServer.spanId);
      expect(cartClient.attributes["rpc.protocol"]).toBe(transport.MASTER_DATA_PROTOCOL);
      // … master-data's server span, the child of that client span (the traceparent crossed the wire) …
      const mdServer = await until("master-data's server span", () =>
        inTrace().find((s) => s.service === "master-data" && s.kind === SERVER),
      );
      expect(mdServer.name).toBe("pos.masterdata.v1.ItemService/BatchGetItemDetails");
      expect(mdServer.parentSpanId).toBe(cartClient.spanId);
      expect(mdServer.attributes["rpc.protocol"]).toBe(transport.MASTER_DATA_PROTOCOL);
      // … and the store calls below each server span.
      const mdStore = await until("master-data's store span", () =>
        inTrace().find((s) => s.service === "master-data" && s.name === "ItemStore.getItems"),
      );
      expect(mdStore.parentSpanId).toBe(mdServer.spanId);
      const cartStore = await until("cart's store span", () =>
        inTrace().find((s) => s.service === "cart" && s.name === "CartStore.update"),
      );
      expect(cartStore.parentSpanId).toBe(cartServer.spanId);

      // The request's log lines after the span started name its trace (LOG_REQUESTS=true on master-data).
      const logged = await until("master-data's request log line with the trace id", () =>
        masterData
          .output()
          .split("\n")
          .find((line) => line.includes(`"trace_id":"${mdServer.traceId}"`) && line.includes("request completed")),
      );
      expect(logged).toContain(`"span_id":"${mdServer.spanId}"`);
    });
  }
});
