import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { remoteAddressKey } from "@pos/common";
import { ErrorInfoSchema, RetryInfoSchema } from "@pos/gen/google/rpc/error_details_pb.js";
import { ServerReflection } from "@pos/gen/grpc/reflection/v1/reflection_pb.js";
import { Health } from "@pos/gen/health/v1/health_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";

// Rate limits over real sockets and real clients, on both server paths: a caller over its budget
// gets resource_exhausted with google.rpc.RetryInfo (and ErrorInfo RATE_LIMITED), and is served
// again once the window has passed (a one-second window, polled with a deadline). Health is never
// limited.
const budget = 4;

async function outcome(call: () => Promise<unknown>): Promise<"ok" | ConnectError> {
  try {
    await call();
    return "ok";
  } catch (e) {
    return ConnectError.from(e);
  }
}

describe.each([
  ["the unary fast path", true],
  ["connect-es alone", false],
])("rate limits: %s", (_name, unaryFastPath) => {
  let server: RunningMasterData;
  beforeAll(async () => {
    server = await startMasterData({
      unaryFastPath,
      rateLimits: {
        tiers: { anonymous: budget, authenticated: budget, privileged: budget },
        failedAuthAttempts: 3,
        windowSeconds: 1,
        redisUrl: undefined,
      },
      // Every call of this suite's one client by its address: the mechanism, over every transport.
      // Whom the services' own rule counts (callerOf) is tested with reflection below.
      rateLimitCaller: (req) => ({ key: `address:${req.contextValues.get(remoteAddressKey)}`, tier: "anonymous" }),
    });
  });
  afterAll(() => server?.close());

  it("answers resource_exhausted with RetryInfo past the budget, over every transport, then recovers", async () => {
    for (const { name, transport } of transportMatrix(server.baseUrl)) {
      const client = createClient(ItemService, transport);
      const call = () => client.getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });
      // A fresh window: wait until this caller is served again (the transport before used it up).
      const deadline = Date.now() + 10_000;
      while ((await outcome(call)) !== "ok") {
        if (Date.now() > deadline) throw new Error(`${name}: never served`);
        await new Promise((r) => setTimeout(r, 50));
      }
      let refused: ConnectError | undefined;
      for (let i = 0; i < budget + 1 && refused === undefined; i++) {
        const result = await outcome(call);
        if (result !== "ok") refused = result;
      }
      expect(refused?.code, name).toBe(Code.ResourceExhausted);
      const [retry] = refused?.findDetails(RetryInfoSchema) ?? [];
      const delayMs = Number(retry?.retryDelay?.seconds ?? 0n) * 1000 + (retry?.retryDelay?.nanos ?? 0) / 1e6;
      expect(delayMs, name).toBeGreaterThan(0);
      expect(delayMs, name).toBeLessThanOrEqual(1000);
      expect(refused?.findDetails(ErrorInfoSchema)[0], name).toMatchObject({
        reason: "RATE_LIMITED",
        domain: "pos.example",
        metadata: { limit: String(budget), window_seconds: "1" },
      });
      expect(refused?.rawMessage, name).toMatch(/^rate limit reached: 4 requests per 1 s for \w+ callers; retry in/);
    }
  });

  it("never limits health checks", async () => {
    const health = createClient(Health, transportMatrix(server.baseUrl)[3]!.transport);
    for (let i = 0; i < budget * 5; i++) {
      expect((await health.check({ service: "" })).status).toBe(1);
    }
  });
});

describe("whom the services' rule counts (callerOf)", () => {
  let server: RunningMasterData;
  beforeAll(async () => {
    server = await startMasterData({
      rateLimits: {
        tiers: { anonymous: budget, authenticated: budget, privileged: budget },
        failedAuthAttempts: 3,
        windowSeconds: 60,
        redisUrl: undefined,
      },
    });
  });
  afterAll(() => server?.close());

  it("counts anonymous reflection calls by address; calls with a credential by its principal and tier", async () => {
    const grpc = transportMatrix(server.baseUrl)[3]!.transport;
    const reflection = createClient(ServerReflection, grpc);
    const list = async () => {
      for await (const answer of reflection.serverReflectionInfo(
        (async function* () {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
        })(),
      )) {
        return answer.messageResponse.case;
      }
      return undefined;
    };
    for (let i = 0; i < budget; i++) expect(await list()).toBe("listServicesResponse");
    const refused = await outcome(list);
    expect(refused).toMatchObject({ code: Code.ResourceExhausted });
    if (refused !== "ok") expect(refused.findDetails(ErrorInfoSchema)[0]?.metadata.tier).toBe("anonymous");
    // The suite's credential is an admin token: counted by its principal, in the privileged tier,
    // not by the address the reflection calls used up.
    const items = createClient(ItemService, grpc);
    for (let i = 0; i < budget; i++) {
      await items.getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });
    }
    const limited = await outcome(() =>
      items.getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" }),
    );
    expect(limited).toMatchObject({ code: Code.ResourceExhausted });
    if (limited !== "ok") expect(limited.findDetails(ErrorInfoSchema)[0]?.metadata.tier).toBe("privileged");
  });
});
