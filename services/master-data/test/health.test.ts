import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createHealth, type Health, ServingStatus } from "@pos/common";
import { Health as HealthService } from "@pos/gen/health/v1/health_pb.js";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";

// grpc.health.v1 and /readyz on a real server, over every transport of the protocol matrix.
describe("health: grpc.health.v1.Health, /healthz, /readyz", () => {
  let server: RunningMasterData | undefined;
  afterEach(() => server?.close());

  /** A server whose one store probe the test switches. */
  async function start(): Promise<{ health: Health; store: { up: boolean }; server: RunningMasterData }> {
    const store = { up: true };
    const health = createHealth({
      probes: [
        {
          name: "item store",
          ping: async () => {
            if (!store.up) throw new Error("down");
          },
        },
      ],
    });
    await health.refresh();
    server = await startMasterData({ health });
    return { health, store, server };
  }

  it("Check answers SERVING for the server and each service over every transport; unknown → not_found", async () => {
    const { server } = await start();
    for (const { name, transport } of transportMatrix(server.baseUrl)) {
      const client = createClient(HealthService, transport);
      expect((await client.check({})).status, name).toBe(ServingStatus.SERVING);
      expect((await client.check({ service: "pos.masterdata.v1.ItemService" })).status, name).toBe(
        ServingStatus.SERVING,
      );
      const err = await client.check({ service: "pos.Nope" }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code, name).toBe(Code.NotFound);
    }
  });

  it("a store going down and coming back: Check, Watch and /readyz follow; /healthz stays ok", async () => {
    const { health, store, server } = await start();
    const streaming = transportMatrix(server.baseUrl).filter((t) => t.expect.method !== "GET");
    const watches = streaming.map(({ name, transport }) => {
      const abort = new AbortController();
      const stream = createClient(HealthService, transport)
        .watch({ service: "pos.masterdata.v1.ItemService" }, { signal: abort.signal })
        [Symbol.asyncIterator]();
      return { name, stream, abort };
    });
    for (const w of watches) expect((await w.stream.next()).value?.status, w.name).toBe(ServingStatus.SERVING);

    store.up = false;
    await health.refresh();
    for (const w of watches) expect((await w.stream.next()).value?.status, w.name).toBe(ServingStatus.NOT_SERVING);
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "NOT_SERVING", service: "master-data", failing: ["item store"] });
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    const check = await createClient(HealthService, streaming[0]!.transport).check({});
    expect(check.status).toBe(ServingStatus.NOT_SERVING);

    store.up = true;
    await health.refresh();
    for (const w of watches) expect((await w.stream.next()).value?.status, w.name).toBe(ServingStatus.SERVING);
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    for (const w of watches) w.abort.abort();
  });

  it("NOT_SERVING from the moment shutdown starts, while the server still answers", async () => {
    const { health, server } = await start();
    const client = createClient(HealthService, transportMatrix(server.baseUrl)[3]!.transport);
    health.shutdown();
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(503);
    // A store that answers again does not bring a stopping server back.
    await health.refresh();
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
  });

  it("Watch of a service not served here says SERVICE_UNKNOWN and keeps the stream open", async () => {
    const { health, server } = await start();
    const abort = new AbortController();
    const stream = createClient(HealthService, transportMatrix(server.baseUrl)[3]!.transport)
      .watch({ service: "pos.Nope" }, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    // Still open: it would report a change, and a new service becoming known is one.
    health.addServices(["pos.Nope"]);
    health.shutdown();
    expect((await stream.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    abort.abort();
  });

  it("List names the server and the services it serves (not health and reflection themselves)", async () => {
    const { server } = await start();
    const res = await createClient(HealthService, transportMatrix(server.baseUrl)[2]!.transport).list({});
    expect(Object.keys(res.statuses).sort()).toEqual(["", "item_service.ItemService", "pos.masterdata.v1.ItemService"]);
  });
});
