import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { cartMain } from "@pos/cart/testing";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { masterDataMain } from "@pos/master-data/testing";
import type { FastifyInstance } from "fastify";
import { type Browser, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTerminalServer, type SiteConfig } from "../server/index.js";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// The POS terminal page in real Chromium (Debian's package; nothing downloads a browser), on its own origin,
// calling the real cart process (CORS) which calls the real master-data process.
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));

let browser: Browser;
let terminal: FastifyInstance;
let terminalUrl: string;
let masterData: ServiceProcess;
let cart: ServiceProcess;
let cartUrl: string;
// The page's terminal (R07) has a key of its own (terminal and staff: this cashier may discount and cancel).
let terminalKey: string;
const site: SiteConfig = { tenantId: "T0001", storeCode: "S0001", terminalId: "R07", staffId: "STAFF1" };

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: scripts/test.sh installs Debian's chromium`);
  const staticDir = mkdtempSync(`${tmpdir()}/pos-terminal-`);
  await build({ root: packageDir, logLevel: "warn", build: { outDir: staticDir, emptyOutDir: true } });
  terminal = await createTerminalServer({ staticDir, site, logLevel: "silent" });
  await terminal.listen({ host: "127.0.0.1", port: 0 });
  terminalUrl = `http://127.0.0.1:${(terminal.server.address() as AddressInfo).port}`;

  masterData = spawnService(masterDataMain, { MASTER_DATA_PORT: "0" });
  const mdPort = await masterData.port(30_000);
  cart = spawnService(cartMain, {
    CART_PORT: "0",
    MASTER_DATA_URL: `http://127.0.0.1:${mdPort}`,
    MASTER_DATA_RETRY_ATTEMPTS: "1",
    CORS_ALLOWED_ORIGINS: terminalUrl,
  });
  cartUrl = `http://127.0.0.1:${await cart.port(30_000)}`;
  site.cartUrl = cartUrl;
  terminalKey = (
    await testAuth.apiKey({ tenant: "T0001", store: "S0001", terminal: "R07", roles: ["terminal", "staff"] })
  ).key;
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([cart?.stop("SIGKILL"), masterData?.stop("SIGKILL")]);
  await terminal?.close();
});

const pages: Page[] = [];
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.context().close()));
});

/** Types the key into Settings and saves, as the cashier does once per terminal. */
async function enterApiKey(page: Page, key: string) {
  await page.click("#open-settings");
  await page.fill('input[name="apiKey"]', key);
  await page.click('#settings-form button[value="save"]');
}

/**
 * A fresh browser profile (no saved settings) on the terminal page, with the terminal's API key
 * entered in Settings (unless `apiKey` is null); records what it sends to cart.
 */
async function openTerminal(origin = terminalUrl, apiKey: string | null = terminalKey) {
  const context = await browser.newContext({ viewport: { width: 1180, height: 760 }, locale: "ja-JP" });
  const page = await context.newPage();
  pages.push(page);
  const sent: { url: string; contentType: string; apiKey: string | undefined }[] = [];
  page.on("request", (req) => {
    if (req.method() === "POST" && req.url().startsWith(cartUrl)) {
      const h = req.headers();
      sent.push({ url: req.url(), contentType: h["content-type"] ?? "", apiKey: h["x-api-key"] });
    }
  });
  await page.goto(origin);
  await page.waitForSelector("body[data-ready=true]");
  if (apiKey !== null) await enterApiKey(page, apiKey);
  return { page, sent };
}

async function settle(page: Page) {
  await page.waitForSelector("body:not([data-busy])");
}

async function scan(page: Page, code: string, quantity = 1) {
  await page.fill("#quantity", String(quantity));
  await page.fill("#item-code", code);
  await page.press("#item-code", "Enter");
  await settle(page);
}

const amountOf = (page: Page, selector: string) => page.getAttribute(selector, "data-amount");
const alertText = (page: Page) => page.textContent("#message");

const protocolsSeen = {
  "connect-json": /^application\/json/,
  "connect-binary": /^application\/proto/,
  "grpc-web": /^application\/grpc-web\+proto/,
} as const;

describe("POS terminal page in Chromium", () => {
  for (const [protocol, contentType] of Object.entries(protocolsSeen)) {
    it(`rings up a whole sale over ${protocol}: lines, discount, tax, cash, bill, receipt`, async () => {
      const { page, sent } = await openTerminal();
      await page.selectOption("#transport", protocol);
      await scan(page, "ITEM0001", 2);
      await scan(page, "ITEM0004");
      await scan(page, "ITEM0007");
      expect(await page.locator("#lines tbody tr").count()).toBe(3);
      await page.fill('[aria-label="Quantity of line 1"]', "3");
      await page.press('[aria-label="Quantity of line 1"]', "Tab");
      await settle(page);
      await page.fill('[aria-label="Discount on line 1"]', "10%");
      await page.press('[aria-label="Discount on line 1"]', "Tab");
      await settle(page);
      await page.click('[aria-label="Void line 3"]');
      await settle(page);
      expect(await page.getAttribute('#lines tr[data-line-no="3"]', "class")).toBe("cancelled");

      // The page shows what cart computed: compare with cart's own answer.
      const cartId = ((await page.textContent("#cart-status")) ?? "").match(/Cart (\S+)/)?.[1] ?? "";
      const client = createClient(
        CartService,
        createConnectTransport({ baseUrl: cartUrl, httpVersion: "1.1", interceptors }),
      );
      const ref = { tenantId: "T0001", storeCode: "S0001", cartId };
      const before = (await client.getCart({ cart: ref })).cart!;
      expect(before.lines[0]?.quantity).toBe(3);
      expect(before.lines[0]?.discounts.map((d) => d.value)).toEqual([1000n]);
      // 10 % of 3 × the unit price, floored: what the line shows.
      const gross = before.lines[0]!.unitPrice!.amount * 3n;
      expect(await amountOf(page, '#lines tr[data-line-no="1"] .line-amount')).toBe((gross - gross / 10n).toString());
      expect(await amountOf(page, "#total")).toBe(before.totalAmount!.amount.toString());
      expect(await amountOf(page, "#tax")).toBe(before.taxAmount!.amount.toString());
      expect(await amountOf(page, "#total-with-tax")).toBe(before.totalAmountWithTax!.amount.toString());
      expect(await page.locator("#tax-lines li").count()).toBe(before.taxes.length);
      await page.screenshot({ path: `${screenshots}sale-${protocol}.png` });

      // Cash over the total: change back.
      const due = before.totalAmountWithTax!.amount;
      const tendered = (due / 1000n + 1n) * 1000n;
      await page.fill("#pay-amount", tendered.toString());
      await page.click("#pay-cash");
      await settle(page);
      expect(await amountOf(page, "#balance")).toBe("0");
      expect(await amountOf(page, "#change")).toBe((tendered - due).toString());
      await page.click("#bill");
      await settle(page);

      await page.waitForSelector("#receipt:not([hidden])");
      const billed = (await client.getCart({ cart: ref })).cart!;
      expect(billed.transactionNo).not.toBe("");
      expect(await page.textContent("#receipt-transaction-no")).toBe(billed.transactionNo);
      expect(await amountOf(page, "#receipt-total")).toBe(due.toString());
      expect(await amountOf(page, "#receipt-change")).toBe((tendered - due).toString());
      await page.screenshot({ path: `${screenshots}receipt-${protocol}.png` });

      // Every call went to cart in the chosen protocol, through CORS (another origin), with the terminal's key.
      expect(sent.length).toBeGreaterThanOrEqual(8);
      for (const s of sent) expect(s.contentType).toMatch(contentType);
      expect(sent.every((s) => s.apiKey === terminalKey)).toBe(true);
    }, 60_000);
  }

  it("takes a card payment for the balance and cancels a sale", async () => {
    const { page } = await openTerminal();
    await scan(page, "ITEM0002");
    await page.click("#pay-card");
    await settle(page);
    expect(await amountOf(page, "#balance")).toBe("0");
    expect(await amountOf(page, "#change")).toBe("0");
    expect(await page.isEnabled("#bill")).toBe(true);
    await page.click("#new-sale");
    await settle(page);
    await scan(page, "ITEM0003");
    await page.click("#cancel-sale");
    await settle(page);
    expect(await page.getAttribute("#cart-status", "data-status")).toBe("CANCELLED");
    expect(await alertText(page)).toBe("Sale cancelled");
  }, 60_000);

  it("says which item is unknown and keeps the cart as it was", async () => {
    const { page } = await openTerminal();
    await scan(page, "ITEM0005");
    await scan(page, "NOPE-123");
    expect(await alertText(page)).toBe(
      'NotFound: item "NOPE-123" not found in tenant "T0001" (store S0001); nothing was added',
    );
    expect(await page.locator("#lines tbody tr").count()).toBe(1);
    expect(await page.inputValue("#item-code")).toBe("NOPE-123");
  }, 60_000);

  it("is refused without an API key, and sends the key once one is entered in the settings", async () => {
    const { page, sent } = await openTerminal(terminalUrl, null);
    await scan(page, "ITEM0006");
    expect(await alertText(page)).toMatch(/^Unauthenticated: this call needs a credential/);
    expect(sent[0]?.apiKey).toBeUndefined();
    await enterApiKey(page, "pos_000000000000_not-a-real-key-not-a-real-key-not-a-real-key1");
    await scan(page, "ITEM0006");
    expect(await alertText(page)).toBe("Unauthenticated: API key not accepted");
    await enterApiKey(page, terminalKey);
    await scan(page, "ITEM0006");
    expect(await page.locator("#lines tbody tr").count()).toBe(1);
    expect(sent.at(-1)?.apiKey).toBe(terminalKey);
  }, 60_000);

  it("tells the cashier when this page's origin is not allowed by cart (CORS)", async () => {
    const { page } = await openTerminal(terminalUrl.replace("127.0.0.1", "localhost"));
    await scan(page, "ITEM0001");
    expect(await alertText(page)).toMatch(
      /^cannot reach cart at http:\/\/127\.0\.0\.1:\d+ \(network down, or this page's origin is not in cart's CORS_ALLOWED_ORIGINS\)/,
    );
  }, 60_000);

  // Last: it stops master-data.
  it("says master-data is unavailable when it is down, and keeps the cart", async () => {
    const { page } = await openTerminal();
    await scan(page, "ITEM0008");
    await masterData.stop("SIGKILL");
    await scan(page, "ITEM0009");
    expect(await alertText(page)).toMatch(/^Unavailable: master-data unavailable/);
    expect(await page.locator("#lines tbody tr").count()).toBe(1);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}master-data-down.png` });
  }, 60_000);
});
