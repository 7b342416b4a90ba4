import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createErrorMappingInterceptor, StoreUnavailableError } from "@pos/common";
import { CartStatus, DiscountType } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { createMemoryItemStore, demo, demoCatalogue, type ItemStore } from "@pos/master-data";
import { createFaultyItemStore, createInMemoryMasterData } from "@pos/master-data/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { createCartService } from "./cart-service.js";
import { timeoutHeaderOf } from "./master-data/fast-transport.js";
import { createItemClient } from "./master-data/item-client.js";
import { createResilience } from "./master-data/resilience.js";
import type { MasterDataTransport } from "./master-data/transport.js";
import { CartConflictError, type CartStore } from "./store/cart-store.js";
import { createMemoryCartStore } from "./store/memory-cart-store.js";
import { createMemoryTransactionLog } from "./store/memory-transaction-log.js";
import type { TransactionLog } from "./store/transaction-log.js";

// CartService's handlers in memory: createRouterTransport in front, the memory cart store and
// transaction log behind, and master-data faked by its own handlers over the memory item store
// (also a router transport). The real-process suites (test/) run the same rules over sockets,
// Redis and FerretDB; these run in milliseconds.

const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });
const scope = { tenantId: demo.tenantId, storeCode: demo.storeCode };
const catalogue = demoCatalogue();
const itemOf = (code: string) => catalogue.items.find((i) => i.itemCode === code)!;
const storePriceOf = (code: string) => catalogue.storePrices.find((p) => p.itemCode === code)?.price?.amount;

async function failure(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (e) {
    const err = ConnectError.from(e);
    return { code: Code[err.code], message: err.rawMessage };
  }
  throw new Error("expected the call to fail");
}

interface CartUnderTest {
  client: Client<typeof CartService>;
  carts: CartStore;
  transactions: TransactionLog;
}

/**
 * master-data as cart's item client sees it, in memory: ItemService over the given item store (the
 * demo catalogue by default) with cart's own resilience interceptors (error mapping, retry, breaker,
 * deadline) on the calling side, as transport.ts composes them on a real transport.
 */
async function inMemoryMasterData(store?: ItemStore): Promise<MasterDataTransport> {
  // Quick backoffs: the outage tests are about what is answered, not how long retries wait.
  const resilience = createResilience(timeoutHeaderOf("connect"), { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
  const { transport } = await createInMemoryMasterData({
    ...(store === undefined ? {} : { store }),
    clientInterceptors: resilience.interceptors,
  });
  return { transport, stats: resilience.stats, describe: "ItemService in memory", close() {} };
}

/** The cart service in memory, with the server's error mapping, over the given master-data. */
function inMemoryCart(
  masterData: MasterDataTransport,
  stores: { carts?: CartStore; transactions?: TransactionLog } = {},
): CartUnderTest {
  const carts = stores.carts ?? createMemoryCartStore();
  const transactions = stores.transactions ?? createMemoryTransactionLog();
  // No item cache: each test sees master-data as it is now.
  const items = createItemClient(masterData, { cache: { ttlMs: 0 } });
  const transport = createRouterTransport(
    (router) => router.service(CartService, createCartService({ carts, transactions, items })),
    { router: { interceptors: [createErrorMappingInterceptor()] } },
  );
  return { client: createClient(CartService, transport), carts, transactions };
}

/** Wraps a store; while `failure` is set, the named operations throw it. */
function switchable<T extends object>(inner: T, ops: readonly (keyof T)[]) {
  const state: { failure: Error | undefined } = { failure: undefined };
  const wrapped = { ...inner };
  for (const op of ops) {
    const original = inner[op];
    if (typeof original !== "function") continue;
    Object.assign(wrapped, {
      [op]: async (...args: unknown[]) => {
        if (state.failure !== undefined) throw state.failure;
        return original.apply(inner, args);
      },
    });
  }
  return { store: wrapped, state };
}

let masterData: MasterDataTransport;
let cart: CartUnderTest;
beforeAll(async () => {
  masterData = await inMemoryMasterData();
  cart = inMemoryCart(masterData);
});

const newCart = async (c: CartUnderTest = cart) => {
  const { cart: created } = await c.client.createCart({ ...scope, terminalId: "R01", staffId: "STAFF1" });
  return { ...scope, cartId: created!.cartId };
};

describe("CartService in memory: the sale", () => {
  it("prices lines from master-data, settles with change, bills once, and logs one sale", async () => {
    const ref = await newCart();
    const { cart: added } = await cart.client.addLineItems({
      cart: ref,
      items: [
        { itemCode: "ITEM0000", quantity: 2 },
        { itemCode: "ITEM0003", quantity: 1 }, // store price in S0001
        { itemCode: "ITEM0008", quantity: 1, unitPriceOverride: yen(777n) },
      ],
    });
    expect(added?.status).toBe(CartStatus.ENTERING_ITEM);
    expect(added?.lines.map((l) => [l.itemCode, l.description, l.unitPrice?.amount])).toEqual([
      ["ITEM0000", itemOf("ITEM0000").description, itemOf("ITEM0000").unitPrice!.amount],
      ["ITEM0003", itemOf("ITEM0003").description, storePriceOf("ITEM0003")],
      ["ITEM0008", itemOf("ITEM0008").description, 777n],
    ]);
    const { cart: more } = await cart.client.updateLineItemQuantity({ cart: ref, lineNo: 1, quantity: 3 });
    expect(more?.lines[0]?.quantity).toBe(3);
    const { cart: discounted } = await cart.client.addLineItemDiscount({
      cart: ref,
      lineNo: 2,
      type: DiscountType.PERCENT,
      value: 1000n,
    });
    expect(discounted?.lines[1]?.discounts[0]?.amount?.amount).toBe(storePriceOf("ITEM0003")! / 10n);
    const { cart: cancelledLine } = await cart.client.cancelLineItem({ cart: ref, lineNo: 3 });
    expect(cancelledLine?.lines[2]?.isCancelled).toBe(true);

    const { cart: subtotal } = await cart.client.subtotal({ cart: ref });
    expect(subtotal?.status).toBe(CartStatus.PAYING);
    const due = subtotal!.balanceAmount!.amount;
    expect(due).toBe(subtotal!.totalAmountWithTax!.amount);
    expect(due).toBeGreaterThan(0n);

    const { cart: paid } = await cart.client.addPayments({
      cart: ref,
      payments: [
        { paymentCode: "11", amount: yen(1000n) },
        { paymentCode: "01", amount: yen(due - 1000n + 500n) },
      ],
    });
    expect(paid?.balanceAmount?.amount).toBe(0n);
    expect(paid?.changeAmount?.amount).toBe(500n);

    const { cart: billed } = await cart.client.bill({ cart: ref });
    expect(billed?.status).toBe(CartStatus.COMPLETED);
    expect(billed?.transactionNo).not.toBe("");
    // A repeated Bill (a retry after a lost answer) answers the same cart and writes nothing new.
    expect((await cart.client.bill({ cart: ref })).cart).toEqual(billed);
    expect((await cart.client.getCart({ cart: ref })).cart).toEqual(billed);
    expect(await cart.transactions.find(ref)).toEqual({ kind: "sale", cart: billed });
  });

  it("cancels a cart once and logs the cancel", async () => {
    const ref = await newCart();
    await cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    const { cart: cancelled } = await cart.client.cancelCart({ cart: ref });
    expect(cancelled?.status).toBe(CartStatus.CANCELLED);
    expect((await cart.client.cancelCart({ cart: ref })).cart).toEqual(cancelled);
    expect(await cart.transactions.find(ref)).toEqual({ kind: "cancel", cart: cancelled });
  });
});

describe("CartService in memory: transaction numbers", () => {
  it("numbers closed carts per terminal, one after the other, each terminal on its own sequence", async () => {
    const c = inMemoryCart(masterData);
    const close = async (terminalId: string) => {
      const { cart: created } = await c.client.createCart({ ...scope, terminalId, staffId: "STAFF1" });
      const { cart: closed } = await c.client.cancelCart({ cart: { ...scope, cartId: created!.cartId } });
      return Number(closed!.transactionNo);
    };
    const first = await close("R07");
    expect(Number.isSafeInteger(first)).toBe(true);
    expect([await close("R07"), await close("R07")]).toEqual([first + 1, first + 2]);
    expect(await close("R08")).toBe(first);
  });
});

describe("CartService in memory: state violations → failed_precondition, cart unchanged", () => {
  it("refuses each step out of order, naming the state", async () => {
    const ref = await newCart();
    expect(await failure(cart.client.subtotal({ cart: ref }))).toMatchObject({ code: "FailedPrecondition" });
    await cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    expect(
      await failure(cart.client.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: yen(100n) }] })),
    ).toEqual({ code: "FailedPrecondition", message: expect.stringMatching(/Subtotal/) });
    expect(await failure(cart.client.bill({ cart: ref }))).toMatchObject({ code: "FailedPrecondition" });
    await cart.client.subtotal({ cart: ref });
    const before = (await cart.client.getCart({ cart: ref })).cart;
    expect(await failure(cart.client.bill({ cart: ref }))).toEqual({
      code: "FailedPrecondition",
      message: expect.stringMatching(/balance .* remains/),
    });
    expect((await cart.client.getCart({ cart: ref })).cart).toEqual(before);
    expect(await cart.transactions.find(ref)).toBeUndefined();
  });

  it("refuses any change to a completed or cancelled cart", async () => {
    const ref = await newCart();
    await cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    const due = (await cart.client.subtotal({ cart: ref })).cart!.balanceAmount!;
    await cart.client.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: due }] });
    await cart.client.bill({ cart: ref });
    for (const call of [
      cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0002", quantity: 1 }] }),
      cart.client.updateLineItemQuantity({ cart: ref, lineNo: 1, quantity: 2 }),
      cart.client.cancelCart({ cart: ref }),
    ]) {
      expect(await failure(call)).toEqual({ code: "FailedPrecondition", message: expect.stringMatching(/COMPLETED/) });
    }
    const other = await newCart();
    await cart.client.cancelCart({ cart: other });
    expect(await failure(cart.client.bill({ cart: other }))).toEqual({
      code: "FailedPrecondition",
      message: expect.stringMatching(/CANCELLED/),
    });
  });
});

describe("CartService in memory: errors and their codes", () => {
  it("rejects bad input with invalid_argument naming the field", async () => {
    const ref = await newCart();
    const cases: [Promise<unknown>, RegExp][] = [
      [cart.client.createCart({ ...scope, terminalId: "", staffId: "S1" }), /^terminal_id: is required/],
      [cart.client.addLineItems({ items: [{ itemCode: "ITEM0001", quantity: 1 }] }), /^cart: is required/],
      [cart.client.getCart({ cart: { ...ref, cartId: "nope" } }), /cart\.cart_id: must be a cart id/],
      [
        cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 0 }] }),
        /quantity must be 1\.\.9999, got 0/,
      ],
      [
        cart.client.addLineItems({ cart: ref, items: [{ itemCode: "", quantity: 1 }] }),
        /items\[0\]\.item_code: is required/,
      ],
      [cart.client.addLineItems({ cart: ref, items: [] }), /1\.\.100 lines per call, got 0/],
      [cart.client.updateLineItemQuantity({ cart: ref, lineNo: 0, quantity: 1 }), /^line_no: must be 1 or more/],
      [cart.client.addPayments({ cart: ref, payments: [{ paymentCode: "99", amount: yen(1n) }] }), /99/],
    ];
    for (const [call, message] of cases) {
      expect(await failure(call)).toEqual({ code: "InvalidArgument", message: expect.stringMatching(message) });
    }
    expect((await cart.client.getCart({ cart: ref })).cart?.lines).toEqual([]);
  });

  it("answers not_found for an unknown tenant, unknown items (adding none) and an unknown cart", async () => {
    expect(
      await failure(cart.client.createCart({ ...scope, tenantId: "T9999", terminalId: "R01", staffId: "S1" })),
    ).toEqual({ code: "NotFound", message: 'tenant "T9999" has no catalogue' });
    const ref = await newCart();
    expect(
      await failure(
        cart.client.addLineItems({
          cart: ref,
          items: [
            { itemCode: "ITEM0001", quantity: 1 },
            { itemCode: "NOPE-1", quantity: 1 },
            { itemCode: "NOPE-2", quantity: 1 },
          ],
        }),
      ),
    ).toEqual({ code: "NotFound", message: expect.stringContaining('item "NOPE-1", "NOPE-2" not found') });
    expect((await cart.client.getCart({ cart: ref })).cart?.lines).toEqual([]);
    const unknown = { ...scope, cartId: "00000000-0000-4000-8000-000000000000" };
    expect(await failure(cart.client.getCart({ cart: unknown }))).toEqual({
      code: "NotFound",
      message: expect.stringMatching(/^cart "00000000-0000-4000-8000-000000000000" not found/),
    });
  });

  it("answers unavailable while master-data's storage is down, leaves the cart as it was, and recovers", async () => {
    const items = createFaultyItemStore(createMemoryItemStore());
    await items.store.importRecords(catalogue.items.slice(0, 5), []);
    const c = inMemoryCart(await inMemoryMasterData(items.store));
    const ref = await newCart(c);
    await c.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    const before = (await c.client.getCart({ cart: ref })).cart;

    items.failWith(new StoreUnavailableError("MongoDB unavailable: connection refused"));
    expect(await failure(c.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0002", quantity: 1 }] }))).toEqual(
      { code: "Unavailable", message: expect.stringMatching(/^master-data unavailable/) },
    );
    expect((await c.client.getCart({ cart: ref })).cart).toEqual(before);

    items.failWith(undefined);
    const { cart: after } = await c.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0002", quantity: 1 }] });
    expect(after?.lines.map((l) => l.itemCode)).toEqual(["ITEM0001", "ITEM0002"]);
  });

  it("answers unavailable while the cart store is down, and aborted when a cart keeps changing", async () => {
    const carts = switchable(createMemoryCartStore(), ["get", "update", "create"]);
    const c = inMemoryCart(masterData, { carts: carts.store });
    const ref = await newCart(c);
    carts.state.failure = new StoreUnavailableError("Redis unavailable: connect ECONNREFUSED 127.0.0.1:6379", {
      dependency: "cart store",
    });
    // The dependency and the code, never the driver's text or an address (those go to the log).
    expect(await failure(c.client.getCart({ cart: ref }))).toEqual({
      code: "Unavailable",
      message: "cart store unavailable",
    });
    carts.state.failure = new CartConflictError({ ...ref }, 5);
    expect(
      await failure(c.client.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: yen(1n) }] })),
    ).toEqual({
      code: "Aborted",
      message: expect.stringMatching(/kept changing concurrently: gave up after 5 attempts; try again$/),
    });
    carts.state.failure = new Error("ERR unexpected reply from a driver: secret detail");
    const internal = await failure(c.client.getCart({ cart: ref }));
    expect(internal).toEqual({ code: "Internal", message: expect.stringMatching(/^internal error \(request id /) });
    expect(internal.message).not.toMatch(/secret detail/);
  });

  it("loses no sale when the transaction log is down at Bill: the retried Bill writes it, once", async () => {
    const log = switchable(createMemoryTransactionLog(), ["record"]);
    const c = inMemoryCart(masterData, { transactions: log.store });
    const ref = await newCart(c);
    await c.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    const due = (await c.client.subtotal({ cart: ref })).cart!.balanceAmount!;
    await c.client.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: due }] });

    log.state.failure = new StoreUnavailableError("MongoDB unavailable: connect ECONNREFUSED 127.0.0.1:27018", {
      dependency: "transaction log",
    });
    expect(await failure(c.client.bill({ cart: ref }))).toEqual({
      code: "Unavailable",
      message: "transaction log unavailable",
    });
    expect(await log.store.find(ref)).toBeUndefined();

    log.state.failure = undefined;
    const { cart: billed } = await c.client.bill({ cart: ref });
    expect(billed?.status).toBe(CartStatus.COMPLETED);
    expect(await log.store.find(ref)).toEqual({ kind: "sale", cart: billed });
    await c.client.bill({ cart: ref });
    expect(await log.store.count(scope.tenantId, scope.storeCode)).toBe(1);
  });

  it("caps the open carts of a terminal with resource_exhausted naming the cap; a closed cart frees a place", async () => {
    const c = inMemoryCart(masterData, { carts: createMemoryCartStore({ maxOpenCartsPerTerminal: 2 }) });
    const opened = [await newCart(c), await newCart(c)];
    expect(await failure(c.client.createCart({ ...scope, terminalId: "R01", staffId: "STAFF1" }))).toEqual({
      code: "ResourceExhausted",
      message: `terminal R01 in store ${scope.storeCode} of tenant ${scope.tenantId} has 2 open carts, the most it may have (MAX_OPEN_CARTS_PER_TERMINAL): bill or cancel one first`,
    });
    // Another terminal is not affected.
    await c.client.createCart({ ...scope, terminalId: "R02", staffId: "STAFF1" });
    await c.client.cancelCart({ cart: opened[0] });
    await c.client.createCart({ ...scope, terminalId: "R01", staffId: "STAFF1" });
  });
});
