import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { errorWithReason, ownsCart, principalKey } from "@pos/common";
import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";
import {
  AddLineItemDiscountResponseSchema,
  AddLineItemsResponseSchema,
  AddPaymentsResponseSchema,
  BillResponseSchema,
  CancelCartResponseSchema,
  CancelLineItemResponseSchema,
  type CartRef,
  type CartService,
  CreateCartResponseSchema,
  GetCartResponseSchema,
  SubtotalResponseSchema,
  UpdateLineItemQuantityResponseSchema,
} from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import type { Tax } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import type { ItemClient } from "./master-data/item-client.js";
import { recordClosed } from "./record-drain.js";
import { type SaleOp, transition } from "./sale/cart-state.js";
import * as sale from "./sale/sale.js";
import type { SaleMetrics } from "./sale-metrics.js";
import { CartConflictError, type CartKey, type CartStore, TooManyOpenCartsError } from "./store/cart-store.js";
import { type TerminalCart, type TransactionLog, TransactionNumberConflictError } from "./store/transaction-log.js";
import { checkCartRef, checkCreateCart, checkItemCode, checkLineNo } from "./validation.js";

export interface CartServiceDeps {
  carts: CartStore;
  transactions: TransactionLog;
  items: ItemClient;
  /** Business counters (sales, cancels, lines, amounts); none when not given. */
  sales?: SaleMetrics;
  now?: () => Date;
}

/**
 * The CartService handlers: check the request, fetch what master-data must
 * say (before touching the cart, so a failure there leaves it untouched), then
 * apply the pure sale operation in one atomic store update.
 */
export function createCartService(deps: CartServiceDeps): ServiceImpl<typeof CartService> {
  const { carts, transactions, items } = deps;
  const now = deps.now ?? (() => new Date());

  const callOf = (ctx: HandlerContext) => ({ signal: ctx.signal, timeoutMs: ctx.timeoutMs() });

  // Another terminal's cart answers exactly as a missing one (auth's ownsCart says why).
  async function load(key: CartKey, ctx: HandlerContext): Promise<Cart> {
    const cart = await carts.get(key);
    if (cart === undefined || !ownsCart(ctx.values.get(principalKey), cart)) throw cartNotFound(key);
    return cart;
  }

  /** The caller's own carts only, checked on the very cart the atomic update applies to. */
  function owned(key: CartKey, ctx: HandlerContext, apply: (current: Cart) => Cart | undefined) {
    const principal = ctx.values.get(principalKey);
    return (current: Cart) => {
      if (!ownsCart(principal, current)) throw cartNotFound(key);
      return apply(current);
    };
  }

  /** Fails fast on a missing cart or a refused state before any master-data call. */
  async function loadFor(key: CartKey, op: SaleOp, ctx: HandlerContext): Promise<Cart> {
    const cart = await load(key, ctx);
    transition(cart, op);
    return cart;
  }

  type Apply = (current: Cart) => Cart | undefined;

  // One owned, conflict-mapped write; `write` is the store's plain update or its close (outbox).
  async function written(write: () => Promise<Cart | undefined>, key: CartKey): Promise<Cart> {
    let updated: Cart | undefined;
    try {
      updated = await write();
    } catch (e) {
      if (e instanceof CartConflictError)
        throw errorWithReason(Code.Aborted, "CART_CONFLICT", `${e.message}; try again`);
      throw e;
    }
    if (updated === undefined) throw cartNotFound(key);
    return updated;
  }

  function change(key: CartKey, ctx: HandlerContext, apply: Apply): Promise<Cart> {
    return written(() => carts.update(key, owned(key, ctx, apply)), key);
  }

  async function taxesFor(cart: Cart, ctx: HandlerContext): Promise<readonly Tax[]> {
    return items.getTaxes(cart.tenantId, callOf(ctx));
  }

  /** A change that re-prices the cart: refused early (missing cart, wrong state), then taxes, then one atomic update. */
  async function retaxed(
    ref: CartRef | undefined,
    op: SaleOp,
    ctx: HandlerContext,
    apply: (current: Cart, taxes: readonly Tax[], at: Date) => Cart,
  ): Promise<Cart> {
    const key = checkCartRef(ref);
    const taxes = await taxesFor(await loadFor(key, op, ctx), ctx);
    return change(key, ctx, (current) => apply(current, taxes, now()));
  }

  return {
    async createCart(req, ctx) {
      checkCreateCart(req);
      // Asking for the tax master proves the tenant exists (NotFound otherwise) and warms its cache.
      await items.getTaxes(req.tenantId, callOf(ctx));
      const cart = sale.newCart({ ...req, cartId: randomUUID() }, now());
      try {
        await carts.create(cart);
      } catch (e) {
        if (e instanceof TooManyOpenCartsError)
          throw errorWithReason(Code.ResourceExhausted, "TOO_MANY_OPEN_CARTS", e.message);
        throw e;
      }
      return create(CreateCartResponseSchema, { cart });
    },

    async getCart(req, ctx) {
      return create(GetCartResponseSchema, { cart: await load(checkCartRef(req.cart), ctx) });
    },

    async addLineItems(req, ctx) {
      const key = checkCartRef(req.cart);
      sale.checkLineInputs(req.items);
      for (const [i, entry] of req.items.entries()) checkItemCode(`items[${i}].item_code`, entry.itemCode);
      const cart = await loadFor(key, "addLines", ctx);
      const scope = { tenantId: key.tenantId, storeCode: key.storeCode, terminalId: cart.terminalId };
      const [found, taxes] = await Promise.all([
        items.getItems(
          scope,
          req.items.map((e) => e.itemCode),
          callOf(ctx),
        ),
        taxesFor(cart, ctx),
      ]);
      if (found.notFound.length > 0) {
        const codes = found.notFound.map((c) => `"${c}"`).join(", ");
        throw errorWithReason(
          Code.NotFound,
          "ITEM_NOT_FOUND",
          `item ${codes} not found in tenant "${key.tenantId}" (store ${key.storeCode}); nothing was added`,
          { tenant_id: key.tenantId, store_code: key.storeCode, item_codes: found.notFound.join(",") },
        );
      }
      const lines = req.items.flatMap((e) => {
        const item = found.items.get(e.itemCode);
        return item === undefined ? [] : [{ item, quantity: e.quantity, unitPriceOverride: e.unitPriceOverride }];
      });
      const updated = await change(key, ctx, (current) => sale.addLines(current, lines, taxes, now()));
      return create(AddLineItemsResponseSchema, { cart: updated });
    },

    async updateLineItemQuantity(req, ctx) {
      checkLineNo(req.lineNo);
      const cart = await retaxed(req.cart, "updateQuantity", ctx, (c, taxes, at) =>
        sale.updateQuantity(c, req.lineNo, req.quantity, taxes, at),
      );
      return create(UpdateLineItemQuantityResponseSchema, { cart });
    },

    async cancelLineItem(req, ctx) {
      checkLineNo(req.lineNo);
      const cart = await retaxed(req.cart, "cancelLine", ctx, (c, taxes, at) =>
        sale.cancelLine(c, req.lineNo, taxes, at),
      );
      return create(CancelLineItemResponseSchema, { cart });
    },

    async addLineItemDiscount(req, ctx) {
      checkLineNo(req.lineNo);
      const cart = await retaxed(req.cart, "addDiscount", ctx, (c, taxes, at) =>
        sale.addDiscount(c, req.lineNo, req.type, req.value, taxes, at),
      );
      return create(AddLineItemDiscountResponseSchema, { cart });
    },

    async subtotal(req, ctx) {
      const cart = await retaxed(req.cart, "subtotal", ctx, (c, taxes, at) => sale.subtotal(c, taxes, at));
      return create(SubtotalResponseSchema, { cart });
    },

    async addPayments(req, ctx) {
      const key = checkCartRef(req.cart);
      sale.checkPaymentInputs(req.payments);
      const updated = await change(key, ctx, (c) => sale.addPayments(c, req.payments, now()));
      return create(AddPaymentsResponseSchema, { cart: updated });
    },

    async bill(req, ctx) {
      const key = checkCartRef(req.cart);
      const cart = await closeOnce(key, ctx, (c) => sale.bill(c, now()));
      return create(BillResponseSchema, { cart });
    },

    async cancelCart(req, ctx) {
      const key = checkCartRef(req.cart);
      const cart = await closeOnce(key, ctx, (c) => sale.cancel(c, now()));
      return create(CancelCartResponseSchema, { cart });
    },
  };

  /**
   * Bill / CancelCart: close the cart once, then write its transaction record;
   * why in this order and what each failure leaves: docs/decisions/0003-sale-record-outbox.md.
   * The number is assigned per cart (a retry or a racing close gets the same
   * one; a cart that cannot close is refused before a number is spent). The
   * closing write also files the closed cart in the cart store's outbox, in
   * the same atomic write, so a cart is never closed without its pending
   * record: when the log fails here, the client hears `unavailable` and the
   * record drain (record-drain.ts) writes the record once the log is back. The
   * answer is a success only once the log has the record: an acknowledged sale
   * is as durable as the log.
   */
  async function closeOnce(key: CartKey, ctx: HandlerContext, close: (c: Cart) => sale.Outcome): Promise<Cart> {
    const current = await load(key, ctx);
    let { cart: closed, already } = close(current);
    if (!already) {
      const number = await assignNumber({ ...key, terminalId: current.terminalId });
      closed = await closing(key, ctx, (latest) => {
        const outcome = close(latest);
        if (outcome.already) return undefined;
        outcome.cart.transactionNo = String(number);
        return outcome.cart;
      });
    }
    await recordClosed(closed, { transactions, carts, sales: deps.sales });
    return closed;
  }

  function closing(key: CartKey, ctx: HandlerContext, apply: Apply): Promise<Cart> {
    return written(() => carts.closeCart(key, owned(key, ctx, apply)), key);
  }

  async function assignNumber(cart: TerminalCart): Promise<number> {
    try {
      return await transactions.assignNumber(cart);
    } catch (e) {
      if (e instanceof TransactionNumberConflictError) {
        throw errorWithReason(Code.Aborted, "TRANSACTION_NUMBER_CONFLICT", `${e.message}; try again`);
      }
      throw e;
    }
  }
}

function cartNotFound(key: CartKey): ConnectError {
  return errorWithReason(
    Code.NotFound,
    "CART_NOT_FOUND",
    `cart "${key.cartId}" not found in store ${key.storeCode} of tenant ${key.tenantId} (never created, or expired)`,
    { tenant_id: key.tenantId, store_code: key.storeCode, cart_id: key.cartId },
  );
}
