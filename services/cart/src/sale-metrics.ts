import type { Cart } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { Counter, type Registry } from "prom-client";

/** What the sale flow reports: one call per cart closed and logged for the first time. */
export interface SaleMetrics {
  closed(kind: "sale" | "cancel", cart: Cart): void;
}

export const noSaleMetrics: SaleMetrics = { closed() {} };

/** Business counters: sales, cancels, lines sold and amounts, by currency. */
export function createSaleMetrics(registry: Registry): SaleMetrics {
  const registers = [registry];
  const sales = new Counter({
    name: "pos_cart_sales_total",
    help: "Carts billed (completed sales), counted once per cart",
    labelNames: ["currency"],
    registers,
  });
  const cancels = new Counter({
    name: "pos_cart_cancels_total",
    help: "Carts cancelled, counted once per cart",
    labelNames: ["currency"],
    registers,
  });
  const lines = new Counter({
    name: "pos_cart_sale_lines_total",
    help: "Line items of completed sales (cancelled lines not counted)",
    labelNames: ["currency"],
    registers,
  });
  const amount = new Counter({
    name: "pos_cart_sales_amount_minor_units_total",
    help: "Total with tax of completed sales, in the currency's minor units (JPY: yen, USD: cents)",
    labelNames: ["currency"],
    registers,
  });
  return {
    closed(kind, cart) {
      const currency = cart.totalAmountWithTax?.currencyCode || "none";
      if (kind === "cancel") {
        cancels.inc({ currency });
        return;
      }
      sales.inc({ currency });
      lines.inc({ currency }, cart.lines.filter((l) => !l.isCancelled).length);
      amount.inc({ currency }, Number(cart.totalAmountWithTax?.amount ?? 0n));
    },
  };
}
