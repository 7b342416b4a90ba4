import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { freshMongoDatabase, mongoUriForSuite, type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import type { CartRefSchema } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisUrl, startMasterDataProcess } from "./cart-harness.js";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// Transaction numbers as deployed: two real cart processes sharing Redis (carts)
// and MongoDB (transaction log and numbers), billing carts of ONE terminal at once.

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const uri = mongoUriForSuite("transaction numbers across cart processes");

if (uri !== undefined) {
  const fresh = freshMongoDatabase(uri, "pos_cart_numbers", 10_000);
  // A store of this run's own, so that its terminal counts from 1 whatever earlier runs left in Redis.
  const scope = { tenantId: "T0001", storeCode: `S${randomBytes(4).toString("hex")}` };
  const terminalId = "R07";
  const running: ServiceProcess[] = [];
  let masterDataUrl = "";

  async function startCartProcess(): Promise<Client<typeof CartService>> {
    const p = spawnService(main, {
      CART_PORT: "0",
      MASTER_DATA_URL: masterDataUrl,
      REDIS_URL: redisUrl,
      CART_TTL_SECONDS: "600",
      MONGODB_URI: uri!.replace(/\/?$/, `/${fresh.name}`),
    });
    running.push(p);
    const port = await p.port(30_000);
    return createClient(CartService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors }));
  }

  /** A cart on the terminal, paid and ready to Bill. */
  async function readyToBill(client: Client<typeof CartService>): Promise<MessageInitShape<typeof CartRefSchema>> {
    const { cart } = await client.createCart({ ...scope, terminalId, staffId: "STAFF1" });
    const ref = { ...scope, cartId: cart!.cartId };
    await client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    await client.subtotal({ cart: ref });
    await client.addPayments({
      cart: ref,
      payments: [{ paymentCode: "01", amount: { amount: 1_000_000n, currencyCode: "JPY" } }],
    });
    return ref;
  }

  describe("transaction numbers across two cart processes", () => {
    let a: Client<typeof CartService>;
    let b: Client<typeof CartService>;

    beforeAll(async () => {
      const masterData = await startMasterDataProcess();
      running.push(masterData.proc);
      masterDataUrl = masterData.url;
      [a, b] = await Promise.all([startCartProcess(), startCartProcess()]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all(running.splice(0).map((p) => p.stop("SIGKILL")));
    });

    it("gives 12 carts of one terminal billed at once through both processes the numbers 1..12; repeats change nothing", async () => {
      // Created through one process, billed through the other: the carts live in the shared Redis.
      const refs = await Promise.all(Array.from({ length: 12 }, (_, i) => readyToBill(i % 2 === 0 ? a : b)));
      const bills = refs.flatMap((ref, i) => {
        const other = i % 2 === 0 ? b : a;
        // Every third cart is billed twice at once (a retry racing the first try), through both processes.
        return i % 3 === 0
          ? [other.bill({ cart: ref }), (i % 2 === 0 ? a : b).bill({ cart: ref })]
          : [other.bill({ cart: ref })];
      });
      const billed = (await Promise.all(bills)).map((r) => r.cart!);
      const byCart = new Map<string, Set<string>>();
      for (const cart of billed)
        byCart.set(cart.cartId, (byCart.get(cart.cartId) ?? new Set()).add(cart.transactionNo));
      expect(byCart.size).toBe(12);
      for (const numbers of byCart.values()) expect(numbers.size).toBe(1);
      const numbers = [...byCart.values()].map((s) => Number([...s][0])).sort((x, y) => x - y);
      expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

      // A repeated Bill answers the same number and allocates nothing: the next cart gets 13.
      const again = await a.bill({ cart: refs[5]! });
      expect(again.cart?.transactionNo).toBe(billed.find((c) => c.cartId === refs[5]!.cartId)?.transactionNo);
      const next = await b.bill({ cart: await readyToBill(a) });
      expect(next.cart?.transactionNo).toBe("13");
    }, 60_000);

    it("keeps counting after both processes restart", async () => {
      await Promise.all(running.slice(1).map((p) => p.stop("SIGTERM")));
      const restarted = await startCartProcess();
      const { cart } = await restarted.bill({ cart: await readyToBill(restarted) });
      expect(cart?.transactionNo).toBe("14");
      // A cancelled cart is a transaction of its terminal too.
      const created = await restarted.createCart({ ...scope, terminalId, staffId: "STAFF1" });
      const cancelled = await restarted.cancelCart({ cart: { ...scope, cartId: created.cart!.cartId } });
      expect(cancelled.cart?.transactionNo).toBe("15");
    }, 60_000);
  });
}
