import { type Cart, CartStatus, DiscountType, type LineItem } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import { formatMoney } from "./money.js";

/** What the cashier can do on a line. */
export interface LineActions {
  setQuantity(line: LineItem, quantity: number): void;
  discount(line: LineItem, text: string): void;
  cancel(line: LineItem): void;
}

export const paymentNames: Record<string, string> = { "01": "Cash", "11": "Card", "12": "E-money", "21": "Gift card" };

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing from index.html`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", className = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className !== "") e.className = className;
  return e;
}

/** Money into an element: the text for people, the minor units in data-amount for machines (tests, scanners). */
function setMoney(target: HTMLElement, money: Money | undefined): void {
  target.textContent = formatMoney(money);
  target.dataset.amount = money === undefined ? "" : money.amount.toString();
}

function discountText(line: LineItem): string {
  return line.discounts
    .map((d) =>
      d.type === DiscountType.PERCENT
        ? `−${Number(d.value) / 100}% (${formatMoney(d.amount)})`
        : `−${formatMoney(d.amount)}`,
    )
    .join(", ");
}

export function renderCart(cart: Cart | undefined, actions: LineActions): void {
  const body = byId("lines").querySelector("tbody");
  if (body === null) return;
  body.replaceChildren();
  const editable =
    cart !== undefined &&
    (cart.status === CartStatus.IDLE ||
      cart.status === CartStatus.ENTERING_ITEM ||
      cart.status === CartStatus.PAYING) &&
    cart.payments.length === 0;
  for (const line of cart?.lines ?? []) {
    const row = el("tr");
    row.dataset.lineNo = String(line.lineNo);
    if (line.isCancelled) row.className = "cancelled";
    const qty = el("input");
    qty.type = "number";
    qty.min = "1";
    qty.max = "9999";
    qty.value = String(line.quantity);
    qty.setAttribute("aria-label", `Quantity of line ${line.lineNo}`);
    qty.disabled = !editable || line.isCancelled;
    qty.addEventListener("change", () => actions.setQuantity(line, Number(qty.value)));
    const disc = el("input");
    disc.placeholder = line.isDiscountRestricted ? "none" : "10% / 50";
    disc.setAttribute("aria-label", `Discount on line ${line.lineNo}`);
    disc.disabled = !editable || line.isCancelled || line.isDiscountRestricted;
    disc.addEventListener("change", () => actions.discount(line, disc.value));
    const cancel = el("button", "Void");
    cancel.type = "button";
    cancel.setAttribute("aria-label", `Void line ${line.lineNo}`);
    cancel.disabled = !editable || line.isCancelled;
    cancel.addEventListener("click", () => actions.cancel(line));
    const amount = el("td", "", "num line-amount");
    setMoney(amount, line.amount);
    const qtyCell = el("td");
    qtyCell.append(qty);
    const discCell = el("td", "", "muted");
    discCell.append(disc, el("div", discountText(line)));
    const actionCell = el("td");
    actionCell.append(cancel);
    const item = el("td");
    item.append(el("div", line.description), el("div", line.itemCode, "muted"));
    row.append(
      el("td", String(line.lineNo)),
      item,
      el("td", formatMoney(line.unitPrice), "num"),
      qtyCell,
      discCell,
      amount,
      actionCell,
    );
    body.append(row);
  }
  setMoney(byId("total"), cart?.totalAmount);
  setMoney(byId("tax"), cart?.taxAmount);
  setMoney(byId("total-with-tax"), cart?.totalAmountWithTax);
  setMoney(byId("paid"), cart?.paidAmount);
  setMoney(byId("balance"), cart?.balanceAmount);
  setMoney(byId("change"), cart?.changeAmount);
  byId("tax-lines").replaceChildren(
    ...(cart?.taxes ?? []).map((t) =>
      el(
        "li",
        `${t.name}: ${formatMoney(t.taxAmount)} on ${formatMoney(t.targetAmount)}${t.isInternal ? " (included)" : ""}`,
      ),
    ),
  );
  byId("cart-status").textContent =
    cart === undefined
      ? "No sale open."
      : `Cart ${cart.cartId} · ${CartStatus[cart.status]} · ${cart.lines.filter((l) => !l.isCancelled).length} lines`;
  byId("cart-status").dataset.status = cart === undefined ? "" : CartStatus[cart.status];
}

export function renderReceipt(cart: Cart): void {
  byId("receipt-transaction-no").textContent = cart.transactionNo;
  byId("receipt-meta").textContent =
    `Store ${cart.storeCode} · terminal ${cart.terminalId} · staff ${cart.staffId} · ${new Date().toLocaleString()}`;
  const body = byId("receipt-lines").querySelector("tbody");
  body?.replaceChildren(
    ...cart.lines
      .filter((l) => !l.isCancelled)
      .map((l) => {
        const row = el("tr");
        const amount = el("td", "", "num");
        setMoney(amount, l.amount);
        row.append(el("td", `${l.description} × ${l.quantity}`), amount);
        return row;
      }),
  );
  const totals = byId("receipt-totals");
  totals.replaceChildren();
  const add = (label: string, money: Money | undefined, id = "") => {
    const dd = el("dd", "", "num");
    if (id !== "") dd.id = id;
    setMoney(dd, money);
    totals.append(el("dt", label), dd);
  };
  add("Subtotal", cart.totalAmount);
  for (const t of cart.taxes) add(`${t.name}${t.isInternal ? " (included)" : ""}`, t.taxAmount);
  add("Total", cart.totalAmountWithTax, "receipt-total");
  for (const p of cart.payments) add(paymentNames[p.paymentCode] ?? p.paymentCode, p.amount);
  add("Change", cart.changeAmount, "receipt-change");
}
