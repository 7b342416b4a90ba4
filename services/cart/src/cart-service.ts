import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";
import {
  AddLineItemDiscountResponseSchema,
  AddLineItemsResponseSchema,
  AddPaymentsResponseSchema,
  BillResponseSchema,
  CancelCartResponseSchema,
  CancelLineItemResponseSchema,
  type CartService,
  CreateCartResponseSchema,
  GetCartResponseSchema,
  SubtotalResponseSchema,
  UpdateLineItemQuantityResponseSchema,
} from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import type { Tax } from "@pos/gen/pos/masterdata/v1/tax_pb.js";
import type { ItemClient } from "./master-data/item-client.js";
import { type SaleOp, transition } from "./sale/cart-state.js";
import * as sale from "./sale/sale.js";
import { CartConflictError, type CartKey, type CartStore } from "./store/cart-store.js";
import type { TransactionLog } from "./store/transaction-log.js";
import { checkCartRef, checkCreateCart, checkLineNo } from "./validation.js";

export interface CartServiceDeps {
  carts: CartStore;
  transactions: TransactionLog;
  items: ItemClient;
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

  async function load(key: CartKey): Promise<Cart> {
    const cart = await carts.get(key);
    if (cart === undefined) throw cartNotFound(key);
    return cart;
  }

  /** Fails fast on a missing cart or a refused state before any master-data call. */
  async function loadFor(key: CartKey, op: SaleOp): Promise<Cart> {
    const cart = await load(key);
    transition(cart, op);
    return cart;
  }

  async function change(key: CartKey, apply: (current: Cart) => Cart | undefined): Promise<Cart> {
    let updated: Cart | undefined;
    try {
      updated = await carts.update(key, apply);
    } catch (e) {
      if (e instanceof CartConflictError) throw new ConnectError(`${e.message}; try again`, Code.Aborted);
      throw e;
    }
    if (updated === undefined) throw cartNotFound(key);
    return updated;
  }

  async function taxesFor(cart: Cart, ctx: HandlerContext): Promise<readonly Tax[]> {
    return items.getTaxes(cart.tenantId, callOf(ctx));
  }

  return {
    async createCart(req, ctx) {
      checkCreateCart(req);
      // Asking for the tax master proves the tenant exists (NotFound otherwise) and warms its cache.
      await items.getTaxes(req.tenantId, callOf(ctx));
      const cart = sale.newCart({ ...req, cartId: randomUUID() }, now());
      await carts.create(cart);
      return create(CreateCartResponseSchema, { cart });
    },

    async getCart(req) {
      return create(GetCartResponseSchema, { cart: await load(checkCartRef(req.cart)) });
    },

    async addLineItems(req, ctx) {
      const key = checkCartRef(req.cart);
      sale.checkLineInputs(req.items);
      req.items.forEach((entry, i) => {
        if (entry.itemCode === "") throw new ConnectError(`items[${i}].item_code: is required`, Code.InvalidArgument);
      });
      const cart = await loadFor(key, "addLines");
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
        throw new ConnectError(
          `item ${codes} not found in tenant "${key.tenantId}" (store ${key.storeCode}); nothing was added`,
          Code.NotFound,
        );
      }
      const lines = req.items.flatMap((e) => {
        const item = found.items.get(e.itemCode);
        return item === undefined ? [] : [{ item, quantity: e.quantity, unitPriceOverride: e.unitPriceOverride }];
      });
      const updated = await change(key, (current) => sale.addLines(current, lines, taxes, now()));
      return create(AddLineItemsResponseSchema, { cart: updated });
    },

    async updateLineItemQuantity(req, ctx) {
      const key = checkCartRef(req.cart);
      checkLineNo(req.lineNo);
      const taxes = await taxesFor(await loadFor(key, "updateQuantity"), ctx);
      const updated = await change(key, (c) => sale.updateQuantity(c, req.lineNo, req.quantity, taxes, now()));
      return create(UpdateLineItemQuantityResponseSchema, { cart: updated });
    },

    async cancelLineItem(req, ctx) {
      const key = checkCartRef(req.cart);
      checkLineNo(req.lineNo);
      const taxes = await taxesFor(await loadFor(key, "cancelLine"), ctx);
      const updated = await change(key, (c) => sale.cancelLine(c, req.lineNo, taxes, now()));
      return create(CancelLineItemResponseSchema, { cart: updated });
    },

    async addLineItemDiscount(req, ctx) {
      const key = checkCartRef(req.cart);
      checkLineNo(req.lineNo);
      const taxes = await taxesFor(await loadFor(key, "addDiscount"), ctx);
      const updated = await change(key, (c) => sale.addDiscount(c, req.lineNo, req.type, req.value, taxes, now()));
      return create(AddLineItemDiscountResponseSchema, { cart: updated });
    },

    async subtotal(req, ctx) {
      const key = checkCartRef(req.cart);
      const taxes = await taxesFor(await loadFor(key, "subtotal"), ctx);
      const updated = await change(key, (c) => sale.subtotal(c, taxes, now()));
      return create(SubtotalResponseSchema, { cart: updated });
    },

    async addPayments(req) {
      const key = checkCartRef(req.cart);
      sale.checkPaymentInputs(req.payments);
      const updated = await change(key, (c) => sale.addPayments(c, req.payments, now()));
      return create(AddPaymentsResponseSchema, { cart: updated });
    },

    async bill(req) {
      const key = checkCartRef(req.cart);
      const cart = await closeOnce(key, "sale", (c) => sale.bill(c, now()));
      return create(BillResponseSchema, { cart });
    },

    async cancelCart(req) {
      const key = checkCartRef(req.cart);
      const cart = await closeOnce(key, "cancel", (c) => sale.cancel(c, now()));
      return create(CancelCartResponseSchema, { cart });
    },
  };

  /**
   * Bill / CancelCart: close the cart (once: a repeat finds it closed and writes
   * nothing), then write the transaction log. The log write is idempotent per
   * cart, so a retry after a failed log write completes it, and never twice.
   */
  async function closeOnce(key: CartKey, kind: "sale" | "cancel", close: (c: Cart) => sale.Outcome): Promise<Cart> {
    const closed = await change(key, (current) => {
      const outcome = close(current);
      if (outcome.already) return undefined;
      outcome.cart.transactionNo = transactionNoOf(outcome.cart);
      return outcome.cart;
    });
    await transactions.record({ kind, cart: closed });
    return closed;
  }
}

function cartNotFound(key: CartKey): ConnectError {
  return new ConnectError(
    `cart "${key.cartId}" not found in store ${key.storeCode} of tenant ${key.tenantId} (never created, or expired)`,
    Code.NotFound,
  );
}

// Derived from the cart, not counted: the same cart always gets the same number, so retries agree.
function transactionNoOf(cart: Cart): string {
  return `${cart.terminalId}-${cart.cartId.slice(0, 8).toUpperCase()}`;
}
