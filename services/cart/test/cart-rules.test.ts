import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { redisUrlForSuite } from "@pos/common/testing";
import { BadRequestSchema, ErrorInfoSchema } from "@pos/gen/google/rpc/error_details_pb.js";
import { CartSchema, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { createClient as createRedisClient, RESP_TYPES } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cartRedisKey } from "../src/store/redis-cart-store.js";
import { masterDataTransports, type RunningCart, startCart, startMasterDataProcess } from "./cart-harness.js";

// Errors a cashier or an integrator will meet, over the real service: each is
// clear, and none changes the cart.

const scope = { tenantId: "T0001", storeCode: "S0001" };
const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });

interface Failure {
  code: string;
  message: string;
  /** The google.rpc.BadRequest field paths, and the google.rpc.ErrorInfo reason, the client received. */
  fields: string[];
  reason: string | undefined;
}

async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (e) {
    const err = ConnectError.from(e);
    return {
      code: Code[err.code] ?? "",
      message: err.rawMessage,
      fields: err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)),
      reason: err.findDetails(ErrorInfoSchema)[0]?.reason,
    };
  }
  throw new Error("expected the call to fail");
}

// Without Redis (REDIS_URL, default 127.0.0.1:6379) the suite says NOT RUN and why.
const redisUrl = await redisUrlForSuite("cart rules over the real service");

describe.runIf(redisUrl !== undefined)("cart rules over the real service (Redis store, real master-data)", () => {
  let masterData: Awaited<ReturnType<typeof startMasterDataProcess>>;
  let cart: RunningCart;
  beforeAll(async () => {
    masterData = await startMasterDataProcess();
    cart = await startCart(masterDataTransports[3]!.config(masterData.url), { redisUrl });
  }, 60_000);
  afterAll(async () => {
    await cart?.close();
    await masterData?.proc.stop();
  });

  const newCart = async () => {
    const { cart: c } = await cart.client.createCart({ ...scope, terminalId: "R01", staffId: "S1" });
    return { ...scope, cartId: c!.cartId };
  };

  it("rejects bad input with invalid_argument naming the problem, and stores nothing", async () => {
    const ref = await newCart();
    const before = (await cart.client.getCart({ cart: ref })).cart;
    // Each with the one field path the client gets in its google.rpc.BadRequest.
    const cases: [Promise<unknown>, RegExp, string][] = [
      [
        cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 0 }] }),
        /quantity must be 1\.\.9999, got 0/,
        "items[0].quantity",
      ],
      [
        cart.client.addLineItems({
          cart: ref,
          items: [
            { itemCode: "ITEM0001", quantity: 1 },
            { itemCode: "ITEM0001", quantity: 1 },
            { itemCode: "ITEM0001", quantity: -3 },
          ],
        }),
        /quantity must be 1\.\.9999, got -3/,
        "items[2].quantity",
      ],
      [
        cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 10_000 }] }),
        /quantity must be 1\.\.9999/,
        "items[0].quantity",
      ],
      [
        cart.client.addLineItems({ cart: ref, items: [{ itemCode: "", quantity: 1 }] }),
        /items\[0\]\.item_code: is required/,
        "items[0].item_code",
      ],
      [
        cart.client.addLineItems({ cart: ref, items: [{ itemCode: "X".repeat(65), quantity: 1 }] }),
        /items\[0\]\.item_code: must be 1-64 printable characters/,
        "items[0].item_code",
      ],
      [
        cart.client.addLineItems({
          cart: ref,
          items: [{ itemCode: "ITEM0001", quantity: 1, unitPriceOverride: { amount: 1n, currencyCode: "yen" } }],
        }),
        /unit_price_override needs a currency_code such as "JPY", got "yen"/,
        "items[0].unit_price_override.currency_code",
      ],
      [cart.client.addLineItems({ cart: ref, items: [] }), /1\.\.100 lines per call, got 0/, "items"],
      [
        cart.client.addLineItems({
          cart: ref,
          items: Array.from({ length: 101 }, () => ({ itemCode: "ITEM0001", quantity: 1 })),
        }),
        /got 101/,
        "items",
      ],
      [
        cart.client.addLineItems({ cart: { ...ref, cartId: "nope" }, items: [{ itemCode: "ITEM0001", quantity: 1 }] }),
        /cart\.cart_id: must be a cart id/,
        "cart.cart_id",
      ],
      [cart.client.addLineItems({ items: [{ itemCode: "ITEM0001", quantity: 1 }] }), /^cart: is required/, "cart"],
      [cart.client.createCart({ ...scope, terminalId: "", staffId: "S1" }), /^terminal_id: is required/, "terminal_id"],
      [
        cart.client.createCart({ ...scope, terminalId: "R01", staffId: "S".repeat(3000) }),
        /^staff_id: must be at most 2048 characters, got 3000/,
        "staff_id",
      ],
      [
        cart.client.updateLineItemQuantity({ cart: ref, lineNo: 0, quantity: 1 }),
        /^line_no: must be 1 or more/,
        "line_no",
      ],
      [
        cart.client.addPayments({ cart: ref, payments: [{ paymentCode: "99".repeat(40), amount: yen(1n) }] }),
        /payment entry 1: payment code "9{40}…" is unknown/,
        "payments[0].payment_code",
      ],
    ];
    for (const [call, message, field] of cases) {
      expect(await failure(call)).toEqual({
        code: "InvalidArgument",
        message: expect.stringMatching(message),
        fields: [field],
        reason: undefined,
      });
    }
    expect((await cart.client.getCart({ cart: ref })).cart).toEqual(before);
  });

  it("unknown items → not_found naming every unknown code, nothing added", async () => {
    const ref = await newCart();
    const err = await failure(
      cart.client.addLineItems({
        cart: ref,
        items: [
          { itemCode: "ITEM0001", quantity: 1 },
          { itemCode: "NOPE-1", quantity: 1 },
          { itemCode: "NOPE-2", quantity: 1 },
        ],
      }),
    );
    expect(err).toEqual({
      code: "NotFound",
      message: expect.stringContaining('item "NOPE-1", "NOPE-2" not found'),
      fields: [],
      reason: "ITEM_NOT_FOUND",
    });
    const { cart: after } = await cart.client.getCart({ cart: ref });
    expect(after?.lines).toHaveLength(0);
    expect(after?.status).toBe(CartStatus.IDLE);
  });

  it("unknown tenant and unknown cart → not_found", async () => {
    expect(
      await failure(
        cart.client.createCart({ tenantId: "T9999", storeCode: "S0001", terminalId: "R01", staffId: "S1" }),
      ),
    ).toEqual({
      code: "NotFound",
      message: 'tenant "T9999" has no catalogue',
      fields: [],
      // master-data's ErrorInfo, passed on by cart.
      reason: "TENANT_NOT_FOUND",
    });
    expect(
      await failure(cart.client.getCart({ cart: { ...scope, cartId: "00000000-0000-4000-8000-000000000000" } })),
    ).toMatchObject({ code: "NotFound", reason: "CART_NOT_FOUND" });
  });

  it("enforces the state machine with failed_precondition", async () => {
    const ref = await newCart();
    expect(await failure(cart.client.subtotal({ cart: ref }))).toMatchObject({
      code: "FailedPrecondition",
      reason: "WRONG_CART_STATUS",
    });
    await cart.client.addLineItems({ cart: ref, items: [{ itemCode: "ITEM0001", quantity: 1 }] });
    expect(
      await failure(cart.client.addPayments({ cart: ref, payments: [{ paymentCode: "01", amount: yen(100n) }] })),
    ).toMatchObject({
      code: "FailedPrecondition",
      message: expect.stringMatching(/Subtotal/),
    });
    expect(await failure(cart.client.bill({ cart: ref }))).toMatchObject({ code: "FailedPrecondition" });
    await cart.client.subtotal({ cart: ref });
    expect(await failure(cart.client.bill({ cart: ref }))).toMatchObject({
      code: "FailedPrecondition",
      message: expect.stringMatching(/balance .* remains/),
    });
    expect(
      await failure(cart.client.addPayments({ cart: ref, payments: [{ paymentCode: "99", amount: yen(1n) }] })),
    ).toMatchObject({
      code: "InvalidArgument",
      message: expect.stringMatching(/99/),
    });
    const { cart: cancelled } = await cart.client.cancelCart({ cart: ref });
    expect(cancelled?.status).toBe(CartStatus.CANCELLED);
    expect((await cart.client.cancelCart({ cart: ref })).cart).toEqual(cancelled);
    expect(await failure(cart.client.bill({ cart: ref }))).toMatchObject({
      code: "FailedPrecondition",
      message: expect.stringMatching(/CANCELLED/),
    });
    expect(await cart.deps.transactions.find(ref)).toMatchObject({ kind: "cancel" });
  });

  it("100 concurrent AddLineItems on one cart keep all 100 lines", async () => {
    const ref = await newCart();
    const codes = Array.from({ length: 100 }, (_, i) => `ITEM${String(i * 37).padStart(4, "0")}`);
    await Promise.all(
      codes.map((itemCode) => cart.client.addLineItems({ cart: ref, items: [{ itemCode, quantity: 1 }] })),
    );
    const { cart: after } = await cart.client.getCart({ cart: ref });
    expect(after?.lines).toHaveLength(100);
    expect(new Set(after?.lines.map((l) => l.lineNo))).toEqual(new Set(Array.from({ length: 100 }, (_, i) => i + 1)));
    expect([...(after?.lines.map((l) => l.itemCode) ?? [])].sort()).toEqual([...codes].sort());
  });

  it("keeps the cart in Redis under its tenant/store key with the configured TTL", async () => {
    const ref = await newCart();
    const redis = createRedisClient({ url: redisUrl! });
    await redis.connect();
    try {
      const key = cartRedisKey(ref);
      expect(key).toContain(ref.cartId);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(35_000);
      expect(ttl).toBeLessThanOrEqual(36_000);
      const value = await redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(key);
      expect(value).not.toBeNull();
      expect(fromBinary(CartSchema, value as Buffer)).toMatchObject({ cartId: ref.cartId, tenantId: "T0001" });
    } finally {
      await redis.quit();
    }
  });
});
