import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "@pos/gen/google/rpc/error_details_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import { createLimitLog } from "./limit-log.js";
import { createRateLimits } from "./rate-limit.js";
import { createFailedAuthInterceptor } from "./rate-limit-interceptors.js";
import { remoteAddressKey } from "./remote-address.js";

// The failed-authentication limit around an authentication interceptor (a stand-in here that accepts
// one key): an address that fails too often is refused before its credentials are checked, others
// are not, and it is let in again after the window (one second, polled with a deadline).
describe("failed authentications per address", () => {
  it("blocks an address after its budget of failures, with RetryInfo, and lets it in after the window", async () => {
    const limits = await createRateLimits(
      {
        tiers: { anonymous: 100, authenticated: 100, privileged: 100 },
        failedAuthAttempts: 3,
        windowSeconds: 1,
        redisUrl: undefined,
      },
      "test",
    );
    const logged: Record<string, unknown>[] = [];
    let checked = 0;
    const address: Interceptor = (next) => (req) => {
      req.contextValues.set(remoteAddressKey, req.header.get("x-test-address") ?? undefined);
      return next(req);
    };
    const auth: Interceptor = (next) => (req) => {
      checked++;
      if (req.header.get("x-api-key") !== "good") throw new ConnectError("bad credential", Code.Unauthenticated);
      return next(req);
    };
    const transport = createRouterTransport((router) => router.service(ItemService, { getItemDetail: () => ({}) }), {
      router: {
        interceptors: [
          address,
          createFailedAuthInterceptor(
            limits,
            createLimitLog((f) => void logged.push(f)),
          ),
          auth,
        ],
      },
    });
    const client = createClient(ItemService, transport);
    const call = async (from: string, key: string) => {
      try {
        await client.getItemDetail({}, { headers: { "x-test-address": from, "x-api-key": key } });
        return "ok";
      } catch (e) {
        return ConnectError.from(e);
      }
    };
    for (let i = 0; i < 3; i++) expect(await call("10.0.0.1", "bad")).toMatchObject({ code: Code.Unauthenticated });
    const checksBefore = checked;
    // Blocked now, even with the right key, and without checking it.
    const blocked = await call("10.0.0.1", "good");
    expect(blocked).toMatchObject({ code: Code.ResourceExhausted });
    if (blocked === "ok") throw new Error("expected a refusal");
    expect(blocked.findDetails(ErrorInfoSchema)[0]?.reason).toBe("TOO_MANY_FAILED_AUTHENTICATIONS");
    expect(blocked.findDetails(RetryInfoSchema)).toHaveLength(1);
    expect(checked).toBe(checksBefore);
    expect(logged).toEqual([{ limit: "failed_authentications", remote_address: "10.0.0.1" }]);
    // Another address is not affected.
    expect(await call("10.0.0.2", "good")).toBe("ok");
    const deadline = Date.now() + 10_000;
    while ((await call("10.0.0.1", "good")) !== "ok") {
      if (Date.now() > deadline) throw new Error("never let in again");
      await new Promise((r) => setTimeout(r, 50));
    }
    await limits.close();
  });
});
