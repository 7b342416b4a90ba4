import { create, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Transport } from "@connectrpc/connect";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { ItemService as LegacyItemService } from "@pos/gen/legacy/item_service/item_service_pb.js";
import { DiscountType } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { masterDataMain, transportMatrix } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cartMain } from "../src/testing/index.js";

// The isolation matrix, on the real processes (master-data, and cart calling it with its service
// token), over every protocol the matrix transports speak: every protected RPC × every transport ×
// {no credential, malformed, expired, revoked, wrong signature, other tenant, other store, other
// terminal's cart, insufficient role} answers the right code with a message fixed in advance, so
// nothing about other tenants, keys or carts can leak through it. Cells that do not apply (an RPC
// with no store, no cart, or that every role may call) are counted apart, not silently skipped.

type Headers = Record<string, string>;
type Expect = { code: Code; message: string | RegExp } | "same-as-missing-cart";
type CaseName =
  | "no credential"
  | "malformed"
  | "expired"
  | "revoked"
  | "wrong signature"
  | "other tenant"
  | "other store"
  | "other terminal's cart"
  | "insufficient role";

const needsCredential = {
  code: Code.Unauthenticated,
  message: "this call needs a credential: a terminal API key (x-api-key) or a bearer token (authorization: Bearer …)",
};
const keyRefused = { code: Code.Unauthenticated, message: "API key not accepted" };
const tokenRefused = { code: Code.Unauthenticated, message: "bearer token not accepted" };
const notCovered = {
  code: Code.PermissionDenied,
  message: "this credential does not cover the tenant, store or terminal named in the request",
};
const roleRefused = (rpc: string) => ({
  code: Code.PermissionDenied,
  message: new RegExp(`^roles [a-z, ]+ may not call ${rpc.replace(".", "\\.")} \\(needs [a-z ]+\\)$`),
});

interface Row {
  server: "master-data" | "cart";
  method: DescMethodUnary;
  request: (cartId: string) => MessageInitShape<DescMessage>;
  /** The request names a store (other store applies). */
  store: boolean;
  /** Names a cart by id (other terminal's cart: not_found, as a missing cart) or a terminal (not covered). */
  terminal: "cart" | "request" | undefined;
  /** Who is one role short (undefined: every role may call it). */
  shortOf: "terminal-key" | "service-token" | undefined;
}

const scope = { tenantId: "T0001", storeCode: "S0001" };
const ref = (cartId: string) => ({ cart: { ...scope, cartId } });
const md = ItemService.method;
const c = CartService.method;
const rows: Row[] = [
  {
    server: "master-data",
    method: md.getItemDetail,
    request: () => ({ ...scope, itemCode: "ITEM0001", terminalId: "R01" }),
    store: true,
    terminal: "request",
    shortOf: undefined,
  },
  {
    server: "master-data",
    method: md.batchGetItemDetails,
    request: () => ({ ...scope, itemCodes: ["ITEM0001"], terminalId: "R01" }),
    store: true,
    terminal: "request",
    shortOf: undefined,
  },
  {
    server: "master-data",
    method: md.listItems,
    request: () => ({ ...scope, pageSize: 2 }),
    store: true,
    terminal: undefined,
    shortOf: undefined,
  },
  {
    server: "master-data",
    method: md.listTaxes,
    request: () => ({ tenantId: "T0001" }),
    store: false,
    terminal: undefined,
    shortOf: undefined,
  },
  {
    server: "master-data",
    method: md.upsertItem,
    request: () => ({
      tenantId: "T0001",
      itemCode: "AUTH-MATRIX",
      description: "x",
      categoryCode: "DRINK",
      taxCode: "01",
      unitPrice: { amount: 100n, currencyCode: "JPY" },
    }),
    store: false,
    terminal: undefined,
    shortOf: "terminal-key",
  },
  {
    server: "master-data",
    method: md.deleteItem,
    request: () => ({ tenantId: "T0001", itemCode: "AUTH-MATRIX" }),
    store: false,
    terminal: undefined,
    shortOf: "terminal-key",
  },
  {
    server: "master-data",
    method: md.upsertStorePrice,
    request: () => ({ ...scope, itemCode: "ITEM0001", price: { amount: 90n, currencyCode: "JPY" } }),
    store: true,
    terminal: undefined,
    shortOf: "terminal-key",
  },
  {
    server: "master-data",
    method: LegacyItemService.method.getItemDetail,
    request: () => ({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" }),
    store: true,
    terminal: undefined,
    shortOf: undefined,
  },
  {
    server: "cart",
    method: c.createCart,
    request: () => ({ ...scope, terminalId: "R01", staffId: "STAFF1" }),
    store: true,
    terminal: "request",
    shortOf: "service-token",
  },
  { server: "cart", method: c.getCart, request: ref, store: true, terminal: "cart", shortOf: "service-token" },
  {
    server: "cart",
    method: c.addLineItems,
    request: (id) => ({ ...ref(id), items: [{ itemCode: "ITEM0001", quantity: 1 }] }),
    store: true,
    terminal: "cart",
    shortOf: "service-token",
  },
  {
    server: "cart",
    method: c.updateLineItemQuantity,
    request: (id) => ({ ...ref(id), lineNo: 1, quantity: 2 }),
    store: true,
    terminal: "cart",
    shortOf: "service-token",
  },
  {
    server: "cart",
    method: c.cancelLineItem,
    request: (id) => ({ ...ref(id), lineNo: 1 }),
    store: true,
    terminal: "cart",
    shortOf: "service-token",
  },
  {
    server: "cart",
    method: c.addLineItemDiscount,
    request: (id) => ({ ...ref(id), lineNo: 1, type: DiscountType.PERCENT, value: 1000n }),
    store: true,
    terminal: "cart",
    shortOf: "terminal-key",
  },
  { server: "cart", method: c.subtotal, request: ref, store: true, terminal: "cart", shortOf: "service-token" },
  {
    server: "cart",
    method: c.addPayments,
    request: (id) => ({ ...ref(id), payments: [{ paymentCode: "01", amount: { amount: 100n, currencyCode: "JPY" } }] }),
    store: true,
    terminal: "cart",
    shortOf: "service-token",
  },
  { server: "cart", method: c.bill, request: ref, store: true, terminal: "cart", shortOf: "service-token" },
  { server: "cart", method: c.cancelCart, request: ref, store: true, terminal: "cart", shortOf: "terminal-key" },
];

let masterData: ServiceProcess;
let cart: ServiceProcess;
const urls = { "master-data": "", cart: "" };
const creds = {} as Record<
  "terminal" | "staffR02" | "otherStore" | "revoked" | "expired" | "wrongSig" | "otherTenant" | "service",
  Headers
>;
let ownCart = "";
let transports: Record<"master-data" | "cart", { name: string; transport: Transport }[]>;

async function call(
  server: "master-data" | "cart",
  transport: Transport,
  row: Row,
  headers: Headers,
  cartId = ownCart,
) {
  return transport
    .unary(row.method, undefined, 10_000, headers, create(row.method.input, row.request(cartId)), createContextValues())
    .then(
      (res) => ({ ok: true as const, message: res.message }),
      (e: unknown) => ({ ok: false as const, error: ConnectError.from(e) }),
    )
    .then((r) => ({ ...r, server }));
}

beforeAll(async () => {
  masterData = spawnService(masterDataMain, { MASTER_DATA_PORT: "0" });
  urls["master-data"] = `http://127.0.0.1:${await masterData.port(30_000)}`;
  cart = spawnService(cartMain, { CART_PORT: "0", MASTER_DATA_URL: urls["master-data"] });
  urls.cart = `http://127.0.0.1:${await cart.port(30_000)}`;
  transports = {
    "master-data": transportMatrix(urls["master-data"], { interceptors: [] }),
    cart: transportMatrix(urls.cart, { interceptors: [] }),
  };
  const key = async (b: { tenant?: string; store?: string; terminal?: string; roles?: ("terminal" | "staff")[] }) =>
    await testAuth.apiKey({
      tenant: b.tenant ?? "T0001",
      store: b.store ?? "S0001",
      terminal: b.terminal ?? "R01",
      roles: b.roles ?? ["terminal"],
    });
  creds.terminal = { "x-api-key": (await key({})).key };
  // Staff too, so that its other-terminal calls fail on the cart, not on the role.
  creds.staffR02 = { "x-api-key": (await key({ terminal: "R02", roles: ["terminal", "staff"] })).key };
  creds.otherStore = {
    authorization: `Bearer ${await testAuth.token({ tenant: "T0001", stores: ["S0002"], roles: ["admin"] })}`,
  };
  const revoked = await key({ roles: ["terminal", "staff"] });
  await testAuth.revokeApiKey(revoked.record.id);
  creds.revoked = { "x-api-key": revoked.key };
  creds.expired = { authorization: `Bearer ${await testAuth.token({ tenant: "T0001" }, -300)}` };
  const good = await testAuth.token({ tenant: "T0001" });
  const [head, body, signature] = good.split(".");
  const flipped = `${signature?.startsWith("A") ? "B" : "A"}${signature?.slice(1)}`;
  creds.wrongSig = { authorization: `Bearer ${head}.${body}.${flipped}` };
  creds.otherTenant = { authorization: `Bearer ${await testAuth.token({ tenant: "T0002" })}` };
  creds.service = { authorization: `Bearer ${await testAuth.serviceToken("T0001")}` };
  // R01's own cart, with a line, through its key: the cart the other terminal reaches for.
  const created = await call("cart", transports.cart[3]!.transport, rows[8]!, creds.terminal);
  if (!created.ok) throw created.error;
  ownCart = (created.message as { cart?: { cartId: string } }).cart?.cartId ?? "";
  const added = await call("cart", transports.cart[3]!.transport, rows[10]!, creds.terminal);
  if (!added.ok) throw added.error;
  // The revoked key must be refused before the matrix runs (the processes re-read keys every 100 ms).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await call("master-data", transports["master-data"][0]!.transport, rows[0]!, creds.revoked);
    if (!r.ok && r.error.code === Code.Unauthenticated) break;
    if (Date.now() > deadline) throw new Error("the revoked key is still accepted");
    await new Promise((res) => setTimeout(res, 50));
  }
}, 90_000);

afterAll(async () => {
  await Promise.all([cart?.stop(), masterData?.stop()]);
});

function cases(row: Row): [CaseName, Headers[], Expect | undefined][] {
  const rpc = `${row.method.parent.typeName}/${row.method.name}`;
  return [
    ["no credential", [{}], needsCredential],
    ["malformed", [{ "x-api-key": "not-a-key" }], keyRefused],
    ["malformed", [{ authorization: "Bearer not.a.jwt" }], tokenRefused],
    [
      "malformed",
      [{ authorization: "Basic dXNlcjpwYXNz" }],
      { code: Code.Unauthenticated, message: 'authorization header must be "Bearer <token>"' },
    ],
    ["expired", [creds.expired], { code: Code.Unauthenticated, message: "bearer token expired" }],
    ["revoked", [creds.revoked], keyRefused],
    ["wrong signature", [creds.wrongSig], tokenRefused],
    ["other tenant", [creds.otherTenant], notCovered],
    ["other store", [creds.otherStore], row.store ? notCovered : undefined],
    [
      "other terminal's cart",
      [creds.staffR02],
      row.terminal === "cart" ? "same-as-missing-cart" : row.terminal === "request" ? notCovered : undefined,
    ],
    [
      "insufficient role",
      [row.shortOf === "terminal-key" ? creds.terminal : creds.service],
      row.shortOf === undefined ? undefined : roleRefused(rpc),
    ],
  ];
}

const tally = { cells: 0, notApplicable: 0 };

describe("isolation matrix: every protected RPC × every transport × every way a credential can be wrong", () => {
  it.each(rows.map((r) => [`${r.server}: ${r.method.parent.typeName}/${r.method.name}`, r] as const))(
    "%s",
    async (_name, row) => {
      for (const { name, transport } of transports[row.server]) {
        for (const [caseName, [headers], expected] of cases(row)) {
          if (expected === undefined) {
            tally.notApplicable++;
            continue;
          }
          tally.cells++;
          const where = `${name}, ${caseName}`;
          const got = await call(row.server, transport, row, headers ?? {});
          expect(got.ok, `${where}: must be refused`).toBe(false);
          if (got.ok) continue;
          if (expected === "same-as-missing-cart") {
            // Exactly what a cart id that never existed gets, with the caller's own key.
            const missing = "00000000-0000-4000-8000-000000000000";
            const control = await call(row.server, transport, row, headers ?? {}, missing);
            expect(control.ok).toBe(false);
            if (control.ok) continue;
            expect(got.error.code, where).toBe(Code.NotFound);
            expect(got.error.rawMessage.replace(ownCart, "<id>"), where).toBe(
              control.error.rawMessage.replace(missing, "<id>"),
            );
            continue;
          }
          expect(Code[got.error.code], where).toBe(Code[expected.code]);
          if (typeof expected.message === "string") expect(got.error.rawMessage, where).toBe(expected.message);
          else expect(got.error.rawMessage, where).toMatch(expected.message);
          // Nothing of another tenant, store or key in any answer.
          expect(got.error.rawMessage, where).not.toMatch(/T0002|S0002|pos_[0-9a-f]{12}/);
        }
      }
    },
  );

  it("covers the matrix it claims (cells run and cells that do not apply)", () => {
    // 18 RPCs × 6 transports × 11 credential variants (the malformed case has 3).
    expect(tally.cells + tally.notApplicable).toBe(rows.length * 6 * 11);
    console.info(`isolation matrix: ${tally.cells} cells checked, ${tally.notApplicable} not applicable`);
    expect(tally.cells).toBeGreaterThan(900);
  });

  it("the right credential passes where the wrong ones were refused (the matrix is not refusing everything)", async () => {
    const own = await call("cart", transports.cart[0]!.transport, rows[9]!, creds.terminal);
    expect(own.ok).toBe(true);
    const read = await call("master-data", transports["master-data"][1]!.transport, rows[0]!, creds.terminal);
    expect(read.ok).toBe(true);
    const asService = await call("master-data", transports["master-data"][3]!.transport, rows[1]!, creds.service);
    expect(asService.ok).toBe(true);
  });
});

describe("service tokens", () => {
  it("master-data refuses cart's token for another tenant than the request's, and a staff token claiming the service role", async () => {
    const t = transports["master-data"][3]!.transport;
    const foreign = await call("master-data", t, rows[0]!, {
      authorization: `Bearer ${await testAuth.serviceToken("T0002")}`,
    });
    expect(foreign.ok || foreign.error.rawMessage).toBe(notCovered.message);
    const claimed = await call("master-data", t, rows[0]!, {
      authorization: `Bearer ${await testAuth.token({ tenant: "T0001", roles: ["service"] })}`,
    });
    expect(claimed.ok || claimed.error.rawMessage).toBe(tokenRefused.message);
  });
});

type Outcome = Awaited<ReturnType<typeof call>>;

/** Repeats `attempt` until `done` says so (a key file is re-read within AUTH_KEY_REFRESH_MS), or fails. */
async function until(attempt: () => Promise<Outcome>, done: (r: Outcome) => boolean, what: string): Promise<Outcome> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await attempt();
    if (done(r)) return r;
    if (Date.now() > deadline) throw new Error(`${r.server}: ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
const accepted = (r: Outcome) => r.ok;

describe("revocation, without a restart", () => {
  it("a key that works is refused by both processes shortly after `revoke`", async () => {
    const made = await testAuth.apiKey({ tenant: "T0001", store: "S0001", terminal: "R05" });
    const headers = { "x-api-key": made.key };
    const taxes = () => call("master-data", transports["master-data"][0]!.transport, rows[3]!, headers);
    const open = () =>
      call(
        "cart",
        transports.cart[0]!.transport,
        { ...rows[8]!, request: () => ({ ...scope, terminalId: "R05", staffId: "S" }) },
        headers,
      );
    await until(taxes, accepted, "the new key is never accepted");
    await until(open, accepted, "the new key is never accepted");
    await testAuth.revokeApiKey(made.record.id);
    for (const attempt of [taxes, open]) {
      const r = await until(
        attempt,
        (o) => !o.ok && o.error.code === Code.Unauthenticated,
        "the revoked key is still accepted",
      );
      expect(r.ok || r.error.rawMessage).toBe(keyRefused.message);
    }
  });
});

describe("audit", () => {
  it("logs catalogue writes and cancels with who, what and when, and no secret", async () => {
    const admin = await testAuth.token({ tenant: "T0001" });
    const write = await call("master-data", transports["master-data"][0]!.transport, rows[6]!, {
      authorization: `Bearer ${admin}`,
    });
    expect(write.ok).toBe(true);
    const staff = await testAuth.apiKey({
      tenant: "T0001",
      store: "S0001",
      terminal: "R09",
      roles: ["terminal", "staff"],
    });
    const t = transports.cart[0]!.transport;
    const opened = await until(
      () =>
        call(
          "cart",
          t,
          { ...rows[8]!, request: () => ({ ...scope, terminalId: "R09", staffId: "S" }) },
          { "x-api-key": staff.key },
        ),
      accepted,
      "the new key is never accepted",
    );
    const id = opened.ok ? ((opened.message as { cart?: { cartId: string } }).cart?.cartId ?? "") : "";
    const cancelled = await call("cart", t, rows[17]!, { "x-api-key": staff.key }, id);
    expect(cancelled.ok).toBe(true);
    // The line of this very call (refused attempts that passed authorization are audited too).
    const lineOf = async (proc: ServiceProcess, what: string, match: (audit: Record<string, unknown>) => boolean) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = proc
          .output()
          .split("\n")
          .filter((l) => l.includes('"audit":') && l.includes(what))
          .map((l) => JSON.parse(l) as { audit: Record<string, unknown> })
          .find((l) => match(l.audit));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no audit line of ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const price = await lineOf(
      masterData,
      "ItemService/UpsertStorePrice",
      (a) => a.outcome === "ok" && a.price === "90 JPY",
    );
    expect(price.audit).toMatchObject({
      who: { kind: "jwt", subject: "test-admin", tenant: "T0001", roles: ["admin"] },
      what: "pos.masterdata.v1.ItemService/UpsertStorePrice",
      store: "S0001",
      item: "ITEM0001",
      price: "90 JPY",
      outcome: "ok",
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const cancel = await lineOf(cart, "CartService/CancelCart", (a) => a.cart === id);
    expect(cancel.audit).toMatchObject({ who: { kind: "api-key", subject: staff.record.id }, outcome: "ok" });
    // Never a key's secret part or a token, on either process.
    expect(cart.output()).not.toContain(staff.key.slice(17));
    expect(masterData.output()).not.toContain(admin.split(".")[2] ?? "");
  });
});
