import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { masterDataTransports, type RunningCart, startCart, startMasterDataProcess } from "./cart-harness.js";

// master-data goes away and comes back; the cart service keeps answering, fast
// and truthfully, and recovers without a restart. Carts are never damaged.

const scope = { tenantId: "T0001", storeCode: "S0001" };

describe("when master-data stops and comes back", () => {
  for (const transport of [masterDataTransports[3]!, masterDataTransports[0]!]) {
    describe(transport.name, () => {
      let masterData: Awaited<ReturnType<typeof startMasterDataProcess>>;
      let cart: RunningCart;
      beforeAll(async () => {
        masterData = await startMasterDataProcess();
        cart = await startCart(transport.config(masterData.url), {
          // About master-data, not storage: carts in memory, so this runs with or without a Redis.
          redisUrl: undefined,
          breakerFailures: 3,
          // Long enough that a loaded machine cannot let it half-open before the test looks.
          breakerOpenMs: 3000,
          breakerMinOpenMs: 3000,
          cacheTtlMs: 0,
        });
      }, 60_000);
      afterAll(async () => {
        await cart?.close();
        await masterData?.proc.stop();
      });

      it("answers unavailable fast, opens the breaker, leaves the cart untouched, and recovers", async () => {
        const { cart: created } = await cart.client.createCart({ ...scope, terminalId: "R01", staffId: "S1" });
        const ref = { ...scope, cartId: created!.cartId };
        await cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
        const before = (await cart.client.getCart({ cart: ref })).cart;

        expect(await masterData.proc.stop("SIGKILL")).toBeNull();
        const failures: { code: Code; message: string }[] = [];
        for (let i = 0; i < 6; i++) {
          const err = await cart.client
            .addLineItems({ cart: ref, items: [{ itemCode: "ITEM0002", quantity: 1 }] })
            .then(
              () => undefined,
              (e: unknown) => ConnectError.from(e),
            );
          failures.push({
            code: err?.code ?? Code.Unknown,
            message: err?.rawMessage ?? "succeeded?!",
          });
        }
        for (const f of failures) {
          expect(f.code).toBe(Code.Unavailable);
          expect(f.message).toMatch(/^master-data unavailable/);
        }
        expect(cart.deps.items.stats().breaker).toBe("open");
        expect(failures.at(-1)!.message).toMatch(/circuit breaker open/);
        // Once open, the breaker answers without touching the network: no attempt reaches the transport.
        const { latency, breakerRejected } = cart.deps.items.stats();
        const again = await cart.client
          .addLineItems({ cart: ref, items: [{ itemCode: "ITEM0002", quantity: 1 }] })
          .then(
            () => undefined,
            (e: unknown) => ConnectError.from(e),
          );
        expect(again?.rawMessage).toMatch(/^master-data unavailable: circuit breaker open/);
        expect(cart.deps.items.stats().latency.count).toBe(latency.count);
        expect(cart.deps.items.stats().breakerRejected).toBe(breakerRejected + 1);
        expect((await cart.client.getCart({ cart: ref })).cart).toEqual(before);

        masterData = { ...(await startMasterDataProcess(masterData.port)) };
        await vi.waitFor(
          async () => {
            await cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0002", quantity: 1 }] });
          },
          { timeout: 15_000, interval: 100 },
        );
        const { cart: after } = await cart.client.getCart({ cart: ref });
        expect(after?.lines.map((l) => l.itemCode)).toEqual(["ITEM0001", "ITEM0002"]);
        expect(cart.deps.items.stats().breaker).toBe("closed");
      }, 60_000);
    });
  }
});
