import net, { type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { ConfigError } from "@pos/common";
import { spawnService, testAuth } from "@pos/common/testing";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readCartConfig } from "../src/config.js";
import type { Route } from "../src/master-data/failover.js";
import { createMasterDataTransport, type MasterDataTransport } from "../src/master-data/transport.js";

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * master-data behind a front that can refuse HTTP/2 (as an HTTP/1.1-only proxy would): a connection that
 * opens with the HTTP/2 preface is closed; anything else is passed through.
 */
async function startHttp1OnlyFront(target: number) {
  const counts = { h2Refused: 0, h2Passed: 0, h1: 0 };
  const state = { refuseHttp2: true };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (first: Buffer) => {
      const h2 = first.subarray(0, preface.length).equals(preface.subarray(0, Math.min(first.length, preface.length)));
      if (h2 && state.refuseHttp2) {
        counts.h2Refused++;
        socket.destroy();
        return;
      }
      if (h2) counts.h2Passed++;
      else counts.h1++;
      const upstream = net.connect(target, "127.0.0.1");
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => socket.destroy());
      socket.on("close", () => upstream.destroy());
      upstream.write(first);
      socket.pipe(upstream).pipe(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("fallback transport: gRPC over HTTP/2 first, Connect over HTTP/1.1 second", () => {
  let md: RunningMasterData;
  let front: Awaited<ReturnType<typeof startHttp1OnlyFront>>;
  let transport: MasterDataTransport | undefined;
  beforeAll(async () => {
    md = await startMasterData();
    front = await startHttp1OnlyFront(md.port);
  });
  afterAll(async () => {
    await front?.close();
    await md?.close();
  });
  afterEach(() => transport?.close());

  it("moves to the fallback when HTTP/2 is refused, stays there, and returns when the primary recovers", async () => {
    let clock = 1_000_000;
    const switches: { to: Route; reason: string | undefined }[] = [];
    front.state.refuseHttp2 = true;
    transport = createMasterDataTransport(
      {
        url: front.url,
        protocol: "grpc",
        httpVersion: "2",
        format: "binary",
        fallback: { url: front.url, protocol: "connect", httpVersion: "1.1", format: "binary" },
      },
      {
        credential: testAuth.serviceInterceptor,
        failover: { retryPrimaryAfterMs: 5_000, now: () => clock, onSwitch: (s) => switches.push(s) },
      },
    );
    const client = createClient(ItemService, transport.transport);
    const get = (itemCode: string) => client.getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode });

    // The first call is refused on HTTP/2 and answered over HTTP/1.1, without an error to the caller.
    expect((await get("ITEM0001")).item?.itemCode).toBe("ITEM0001");
    expect(front.counts.h2Refused).toBeGreaterThanOrEqual(1);
    expect(front.counts.h1).toBe(1);
    expect(switches).toEqual([{ to: "fallback", reason: expect.any(String) }]);
    expect(transport.stats().failover).toEqual({
      route: "fallback",
      switchesToFallback: 1,
      switchesToPrimary: 0,
      fallbackCalls: 1,
    });
    expect(transport.stats().breaker).toBe("closed");

    // Until retryPrimaryAfterMs, calls go straight to the fallback: no new HTTP/2 attempt.
    const refusedBefore = front.counts.h2Refused;
    expect((await get("ITEM0002")).item?.itemCode).toBe("ITEM0002");
    expect(front.counts.h2Refused).toBe(refusedBefore);

    // After it, one call tries the primary; still refused → answered by the fallback, still on it.
    clock += 5_000;
    expect((await get("ITEM0003")).item?.itemCode).toBe("ITEM0003");
    expect(front.counts.h2Refused).toBeGreaterThan(refusedBefore);
    expect(transport.stats().failover?.route).toBe("fallback");

    // Business answers come back through the fallback too, unchanged.
    await expect(get("NOPE")).rejects.toMatchObject({ code: Code.NotFound });

    // HTTP/2 accepted again: the next probe succeeds and calls stay on the primary.
    front.state.refuseHttp2 = false;
    clock += 5_000;
    expect((await get("ITEM0004")).item?.itemCode).toBe("ITEM0004");
    expect(front.counts.h2Passed).toBe(1);
    const fallbackCalls = transport.stats().failover?.fallbackCalls;
    expect((await get("ITEM0005")).item?.itemCode).toBe("ITEM0005");
    expect(transport.stats().failover).toEqual({
      route: "primary",
      switchesToFallback: 1,
      switchesToPrimary: 1,
      fallbackCalls,
    });
    expect(switches.map((s) => s.to)).toEqual(["fallback", "primary"]);
  });

  it("does not switch on the server's own answers (not found)", async () => {
    front.state.refuseHttp2 = false;
    const switches: Route[] = [];
    transport = createMasterDataTransport(
      {
        url: md.baseUrl,
        protocol: "grpc",
        httpVersion: "2",
        format: "binary",
        fallback: { url: md.baseUrl, protocol: "connect", httpVersion: "1.1", format: "json" },
      },
      { credential: testAuth.serviceInterceptor, failover: { onSwitch: (s) => switches.push(s.to) } },
    );
    const client = createClient(ItemService, transport.transport);
    const err = await client
      .getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "NOPE" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect(switches).toEqual([]);
    expect(transport.stats().failover?.fallbackCalls).toBe(0);
  });

  it("the cart process: MASTER_DATA_FALLBACK_* env, the switch logged once and counted in /stats/master-data", async () => {
    front.state.refuseHttp2 = true;
    const cart = spawnService(fileURLToPath(new URL("../src/main.ts", import.meta.url)), {
      CART_PORT: "0",
      MASTER_DATA_URL: front.url,
      MASTER_DATA_PROTOCOL: "grpc",
      MASTER_DATA_FALLBACK_PROTOCOL: "connect",
      MASTER_DATA_FALLBACK_HTTP_VERSION: "1.1",
    });
    try {
      const base = `http://127.0.0.1:${await cart.port()}`;
      expect(cart.output()).toContain("falling back to connect over HTTP/1.1");
      const res = await fetch(`${base}/pos.cart.v1.CartService/CreateCart`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": testAuth.terminalKey },
        body: JSON.stringify({ tenantId: "T0001", storeCode: "S0001", terminalId: "R01", staffId: "S1" }),
      });
      expect(res.status).toBe(200);
      await cart.waitFor(/master-data calls switched to the fallback transport/);
      const stats = (await (await fetch(`${base}/stats/master-data`)).json()) as { failover: { route: string } };
      expect(stats.failover).toMatchObject({ route: "fallback", switchesToFallback: 1 });
      expect(cart.output().match(/switched to the fallback transport/g)).toHaveLength(1);
    } finally {
      await cart.stop("SIGKILL");
    }
  }, 30_000);
});

describe("fallback configuration", () => {
  it("defaults to the primary's URL and format over HTTP/1.1", () => {
    const config = readCartConfig({ MASTER_DATA_FALLBACK_PROTOCOL: "connect", MASTER_DATA_FORMAT: "json" });
    expect(config.masterData.fallback).toEqual({
      url: "http://127.0.0.1:8002",
      protocol: "connect",
      httpVersion: "1.1",
      format: "json",
      client: "fast",
    });
    expect(readCartConfig({}).masterData.fallback).toBeUndefined();
  });

  it("refuses an impossible fallback, and one that is the primary again", () => {
    const problems = (env: Record<string, string>) => {
      try {
        readCartConfig(env);
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    expect(problems({ MASTER_DATA_FALLBACK_PROTOCOL: "grpc" })).toEqual([
      expect.stringMatching(/^fallback: master-data protocol grpc needs HTTP\/2/),
    ]);
    expect(problems({ MASTER_DATA_FALLBACK_PROTOCOL: "grpc", MASTER_DATA_FALLBACK_HTTP_VERSION: "2" })).toEqual([
      "master-data fallback is the same transport as the primary: name another protocol or HTTP version",
    ]);
    expect(problems({ MASTER_DATA_FALLBACK_PROTOCOL: "soap" })).toEqual([
      expect.stringContaining("MASTER_DATA_FALLBACK_PROTOCOL must be one of"),
    ]);
  });
});
