import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { type Cart, CartStatus, DiscountType } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { createCartTransport } from "./cart-transport.js";
import { parseAmount } from "./money.js";
import { type CartProtocol, loadSettings, protocols, saveSettings, type TerminalSettings } from "./settings.js";
import { byId, paymentNames, renderCart, renderReceipt } from "./view.js";

let settings: TerminalSettings = await loadSettings();
let client: Client<typeof CartService> = connect();
let cart: Cart | undefined;
let busy = false;

function connect(): Client<typeof CartService> {
  byId("where").textContent =
    `cart ${settings.cartUrl} · ${settings.tenantId}/${settings.storeCode}/${settings.terminalId}`;
  return createClient(CartService, createCartTransport(settings));
}

const ref = () =>
  cart === undefined ? undefined : { tenantId: cart.tenantId, storeCode: cart.storeCode, cartId: cart.cartId };

function say(text: string, kind: "error" | "info" = "error"): void {
  const box = byId("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = text === "";
}

function describe(e: unknown): string {
  const err = ConnectError.from(e);
  // fetch gives no reason for a refused connection or a CORS refusal: say where it tried.
  if (err.code === Code.Unknown || (err.code === Code.Unavailable && /fetch/i.test(err.rawMessage))) {
    return `cannot reach cart at ${settings.cartUrl} (network down, or this page's origin is not in cart's CORS_ALLOWED_ORIGINS): ${err.rawMessage}`;
  }
  return `${Code[err.code]}: ${err.rawMessage}`;
}

/** One cart call at a time; the answer replaces the cart on screen; errors are shown, the cart stays as it was. */
async function step(call: () => Promise<{ cart?: Cart | undefined }>): Promise<boolean> {
  if (busy) return false;
  busy = true;
  document.body.dataset.busy = "true";
  try {
    const res = await call();
    cart = res.cart;
    say("");
    render();
    return true;
  } catch (e) {
    say(describe(e));
    return false;
  } finally {
    busy = false;
    delete document.body.dataset.busy;
  }
}

function render(): void {
  renderCart(cart, {
    setQuantity: (line, quantity) =>
      void step(() => client.updateLineItemQuantity({ cart: ref(), lineNo: line.lineNo, quantity })),
    discount: (line, text) => {
      // "10%" or "7.5%" → basis points (1000, 750); "50" → an amount in the line's currency.
      const m = /^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*(%?)\s*$/.exec(text);
      if (m === null) return say(`discount "${text}": type a percentage such as 10% or an amount such as 50`);
      const percent = m[3] === "%";
      const value = percent
        ? BigInt(m[1] ?? "0") * 100n + BigInt((m[2] ?? "").padEnd(2, "0"))
        : parseAmount(`${m[1]}${m[2] === undefined ? "" : `.${m[2]}`}`, line.unitPrice?.currencyCode ?? "JPY");
      if (value === undefined) return say(`discount "${text}": too many decimals for the currency`);
      void step(() =>
        client.addLineItemDiscount({
          cart: ref(),
          lineNo: line.lineNo,
          type: percent ? DiscountType.PERCENT : DiscountType.AMOUNT,
          value,
        }),
      );
    },
    cancel: (line) => void step(() => client.cancelLineItem({ cart: ref(), lineNo: line.lineNo })),
  });
  const open = cart !== undefined && cart.status !== CartStatus.COMPLETED && cart.status !== CartStatus.CANCELLED;
  const balance = cart?.balanceAmount?.amount ?? 0n;
  byId<HTMLButtonElement>("subtotal").disabled = !open || cart?.status !== CartStatus.ENTERING_ITEM;
  byId<HTMLButtonElement>("pay-cash").disabled =
    !open || cart?.lines.length === 0 || (cart?.status === CartStatus.PAYING && balance === 0n);
  byId<HTMLButtonElement>("pay-card").disabled = byId<HTMLButtonElement>("pay-cash").disabled;
  byId<HTMLButtonElement>("bill").disabled = !open || cart?.status !== CartStatus.PAYING || balance !== 0n;
  byId<HTMLButtonElement>("cancel-sale").disabled = !open;
}

async function newSale(): Promise<boolean> {
  byId("receipt").hidden = true;
  byId("sale").hidden = false;
  const ok = await step(() =>
    client.createCart({
      tenantId: settings.tenantId,
      storeCode: settings.storeCode,
      terminalId: settings.terminalId,
      staffId: settings.staffId,
    }),
  );
  byId("item-code").focus();
  return ok;
}

// Scanners type the code and Enter: the first scan opens a sale when none is open.
byId<HTMLFormElement>("scan").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const code = byId<HTMLInputElement>("item-code");
  const quantity = Number(byId<HTMLInputElement>("quantity").value || "1");
  const itemCode = code.value.trim();
  if (itemCode === "") return;
  if (cart === undefined || cart.status === CartStatus.COMPLETED || cart.status === CartStatus.CANCELLED) {
    if (!(await newSale())) return;
  }
  if (await step(() => client.addLineItems({ cart: ref(), items: [{ itemCode, quantity }] }))) {
    code.value = "";
    byId<HTMLInputElement>("quantity").value = "1";
  }
  code.focus();
  code.select();
});

byId("subtotal").addEventListener("click", () => void step(() => client.subtotal({ cart: ref() })));

byId<HTMLFormElement>("pay").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (cart === undefined) return;
  const paymentCode = (ev.submitter as HTMLButtonElement | null)?.value ?? "01";
  if (cart.status === CartStatus.ENTERING_ITEM && !(await step(() => client.subtotal({ cart: ref() })))) return;
  const currencyCode = cart.balanceAmount?.currencyCode ?? "JPY";
  const typed = byId<HTMLInputElement>("pay-amount").value;
  const amount = typed === "" ? (cart.balanceAmount?.amount ?? 0n) : parseAmount(typed, currencyCode);
  if (amount === undefined || amount <= 0n) return say(`amount "${typed}": type a positive amount`);
  const ok = await step(() =>
    client.addPayments({ cart: ref(), payments: [{ paymentCode, amount: { amount, currencyCode } }] }),
  );
  if (ok) {
    byId<HTMLInputElement>("pay-amount").value = "";
    say(`${paymentNames[paymentCode] ?? paymentCode} taken`, "info");
  }
});

byId("bill").addEventListener("click", async () => {
  if ((await step(() => client.bill({ cart: ref() }))) && cart !== undefined) {
    renderReceipt(cart);
    byId("sale").hidden = true;
    byId("receipt").hidden = false;
  }
});

byId("cancel-sale").addEventListener("click", async () => {
  if (await step(() => client.cancelCart({ cart: ref() }))) say("Sale cancelled", "info");
});

byId("new-sale").addEventListener("click", () => void newSale());
byId("next-customer").addEventListener("click", () => void newSale());

const protocolSelect = byId<HTMLSelectElement>("transport");
protocolSelect.value = settings.protocol;
protocolSelect.addEventListener("change", () => {
  if (!protocols.includes(protocolSelect.value as CartProtocol)) return;
  settings = { ...settings, protocol: protocolSelect.value as CartProtocol };
  saveSettings(settings);
  client = connect();
});

const dialog = byId<HTMLDialogElement>("settings");
const form = byId<HTMLFormElement>("settings-form");
byId("open-settings").addEventListener("click", () => {
  for (const [key, value] of Object.entries(settings)) {
    const input = form.elements.namedItem(key);
    if (input instanceof HTMLInputElement) input.value = value;
  }
  dialog.showModal();
});
dialog.addEventListener("close", () => {
  if (dialog.returnValue !== "save") return;
  const data = new FormData(form);
  const text = (key: keyof TerminalSettings) => String(data.get(key) ?? "").trim();
  settings = {
    ...settings,
    cartUrl: text("cartUrl"),
    tenantId: text("tenantId"),
    storeCode: text("storeCode"),
    terminalId: text("terminalId"),
    staffId: text("staffId"),
    apiKey: text("apiKey"),
  };
  saveSettings(settings);
  client = connect();
  cart = undefined;
  render();
});

render();
byId("item-code").focus();
document.body.dataset.ready = "true";
