import { create, toJson } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { freshMongoDatabase, redisUrlForSuite } from "@pos/common/testing";
import { type Cart, CartSchema, CartStatus, DiscountType } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { demoCatalogue } from "@pos/master-data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masterDataTransports, startCart, startMasterDataProcess } from "./cart-harness.js";

// The whole sale, once per cart → master-data transport, against a real master-data
// process, real Redis and (under `pnpm test`) FerretDB for the transaction log.

const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });
const scope = { tenantId: "T0001", storeCode: "S0001" };

async function wholeSale(client: Client<typeof CartService>) {
  const steps: Cart[] = [];
  const keep = (c: Cart | undefined) => {
    steps.push(c!);
    return c!;
  };
  const cart = keep((await client.createCart({ ...scope, terminalId: "R01", staffId: "STAFF1" })).cart);
  const ref = { ...scope, cartId: cart.cartId };
  keep(
    (
      await client.addLineItems({
        cart: ref,
        items: [
          { itemCode: "ITEM0000", quantity: 2 }, // FOOD, 8 % external
          { itemCode: "ITEM0003", quantity: 1 }, // DELI, 8 % internal, store price override in S0001
          { itemCode: "ITEM0004", quantity: 3 }, // ALCOHOL, 10 % external
          { itemCode: "ITEM0008", quantity: 1, unitPriceOverride: yen(777n) }, // MAGAZINE, 10 % internal
        ],
      })
    ).cart,
  );
  keep((await client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0009", quantity: 1 }] })).cart); // exempt
  keep((await client.updateLineItemQuantity({ cart: ref, lineNo: 1, quantity: 4 })).cart);
  keep((await client.addLineItemDiscount({ cart: ref, lineNo: 2, type: DiscountType.PERCENT, value: 1000n })).cart);
  keep((await client.cancelLineItem({ cart: ref, lineNo: 5 })).cart);
  const subtotal = keep((await client.subtotal({ cart: ref })).cart);
  const due = subtotal.balanceAmount!.amount;
  keep(
    (
      await client.addPayments({
        cart: ref,
        payments: [
          { paymentCode: "11", amount: yen(1000n) },
          { paymentCode: "01", amount: yen(due - 1000n + 500n) },
        ],
      })
    ).cart,
  );
  const billed = keep((await client.bill({ cart: ref })).cart);
  const billedAgain = keep((await client.bill({ cart: ref })).cart);
  keep((await client.getCart({ cart: ref })).cart);
  return { steps, billed, billedAgain, ref };
}

// Ids and clocks differ per run; everything else must be identical.
function comparable(cart: Cart): unknown {
  const json = toJson(CartSchema, cart) as Record<string, unknown>;
  delete json.cartId;
  delete json.createdAt;
  delete json.updatedAt;
  delete json.transactionNo;
  return json;
}

// Without Redis (REDIS_URL, default 127.0.0.1:6379) the suite says NOT RUN and why.
const redisUrl = await redisUrlForSuite("the whole sale");
// A transaction log of this run's own (when there is a MongoDB-wire server): counts and numbers start
// afresh instead of scanning what every earlier run left in the shared default database.
const mongoUri = process.env.MONGODB_URI;
const freshLog =
  mongoUri === undefined || mongoUri === "" ? undefined : freshMongoDatabase(mongoUri, "pos_cart_sale", 30_000);
const mongodbUri = freshLog && mongoUri?.replace(/\/?$/, `/${freshLog.name}`);

describe.runIf(redisUrl !== undefined)("the whole sale, over every cart → master-data transport", () => {
  let masterData: Awaited<ReturnType<typeof startMasterDataProcess>>;
  const results = new Map<string, Awaited<ReturnType<typeof wholeSale>> & { logged: number; written: boolean }>();

  beforeAll(async () => {
    masterData = await startMasterDataProcess();
    for (const t of masterDataTransports) {
      const cart = await startCart(t.config(masterData.url), { redisUrl, mongodbUri });
      try {
        const run = await wholeSale(cart.client);
        const record = await cart.deps.transactions.find(run.ref);
        const logged = await cart.deps.transactions.count(scope.tenantId, scope.storeCode);
        results.set(t.name, { ...run, logged, written: record?.cart.transactionNo === run.billed.transactionNo });
        expect(cart.deps.items.stats().calls, t.name).toBeGreaterThan(0);
      } finally {
        await cart.close();
      }
    }
  }, 120_000);
  afterAll(() => masterData?.proc.stop());

  it("prints master-data's names and prices on the lines, over every transport", () => {
    const catalogue = demoCatalogue();
    const storePrice = new Map(catalogue.storePrices.map((p) => [p.itemCode, p.price!.amount]));
    const expected = ["ITEM0000", "ITEM0003", "ITEM0004"].map((code) => {
      const item = catalogue.items.find((i) => i.itemCode === code)!;
      return [code, item.description, storePrice.get(code) ?? item.unitPrice!.amount];
    });
    for (const { name } of masterDataTransports) {
      const added = results.get(name)?.steps[1];
      expect(added, name).toBeDefined();
      const lines = added!.lines.slice(0, 3).map((l) => [l.itemCode, l.description, l.unitPrice!.amount]);
      expect(lines, name).toEqual(expected);
    }
  });

  it("gives identical carts at every step whatever the transport", () => {
    const [first, ...rest] = masterDataTransports.map((t) => ({ name: t.name, run: results.get(t.name) }));
    for (const { name, run } of rest) {
      expect(run, name).toBeDefined();
      expect(run!.steps.map(comparable), name).toEqual(first!.run!.steps.map(comparable));
    }
  });

  it("ends COMPLETED with a zero balance, change, and one transaction record despite the repeated Bill", () => {
    for (const [name, r] of results) {
      expect(r.billed.status, name).toBe(CartStatus.COMPLETED);
      expect(r.billed.balanceAmount?.amount, name).toBe(0n);
      expect(r.billed.changeAmount?.amount, name).toBe(500n);
      expect(r.billed.transactionNo, name).toMatch(/^[1-9][0-9]*$/);
      expect(r.billedAgain, name).toEqual(r.billed);
      expect(r.written, name).toBe(true);
    }
    // Terminal R01's sales, one per transport: numbered 1, 2, 3, … by the shared MongoDB log, each
    // process's own in-memory log otherwise; the repeated Bills took no number.
    const numbers = [...results.values()].map((r) => r.billed.transactionNo);
    expect(numbers).toEqual(numbers.map((_, i) => String(freshLog === undefined ? 1 : i + 1)));
    expect([...results.values()].map((r) => r.logged)).toEqual(numbers.map(Number));
  });

  it("prices lines from master-data, with the store override, the discount and taxes per code", () => {
    const { billed } = results.get("grpc http/2")!;
    const live = billed.lines.filter((l) => !l.isCancelled);
    expect(live.map((l) => [l.itemCode, l.quantity])).toEqual([
      ["ITEM0000", 4],
      ["ITEM0003", 1],
      ["ITEM0004", 3],
      ["ITEM0008", 1],
    ]);
    expect(billed.lines[1]!.discounts[0]!.amount!.amount).toBe(billed.lines[1]!.unitPrice!.amount / 10n);
    expect(billed.lines[3]).toMatchObject({ unitPriceOverridden: true, unitPrice: { amount: 777n } });
    expect(billed.taxes.map((t) => t.taxCode)).toEqual(["01", "02", "11", "12"]);
    const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
    expect(billed.totalAmount!.amount).toBe(sum(live.map((l) => l.amount!.amount)));
    const external = sum(billed.taxes.filter((t) => !t.isInternal).map((t) => t.taxAmount!.amount));
    expect(billed.totalAmountWithTax!.amount).toBe(billed.totalAmount!.amount + external);
    expect(billed.paidAmount!.amount).toBe(billed.totalAmountWithTax!.amount + 500n);
  });

  it("refuses changes to a completed cart", async () => {
    const cart = await startCart(masterDataTransports[3]!.config(masterData.url), { redisUrl });
    try {
      const { ref } = results.get("grpc http/2")!;
      const err = await cart.client
        .addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] })
        .catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
      expect((err as ConnectError).rawMessage).toMatch(/COMPLETED/);
    } finally {
      await cart.close();
    }
  });
});
