import { create, type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import {
  BatchGetItemDetailsResponseSchema,
  DeleteItemResponseSchema,
  GetItemDetailResponseSchema,
  ItemService,
  ListItemsResponseSchema,
  ListTaxesResponseSchema,
  UpsertItemResponseSchema,
  UpsertStorePriceResponseSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demo, demoCatalogue } from "../src/demo-catalogue.js";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";

// ONE server on ONE port; every client transport makes the same calls and must
// get the same answers and the same error codes.

type Outcome = { ok: unknown } | { code: string; message: string };
type Scenario = (client: Client<typeof ItemService>, tenant: string) => Promise<Outcome[]>;

async function outcome<D extends DescMessage>(
  schema: D,
  call: () => Promise<MessageShape<D>>,
  strip: string[] = [],
): Promise<Outcome> {
  try {
    const json = toJson(schema, await call()) as Record<string, unknown>;
    return { ok: JSON.parse(JSON.stringify(json, (k, v) => (strip.includes(k) ? undefined : v))) };
  } catch (e) {
    const err = ConnectError.from(e);
    return { code: Code[err.code], message: err.rawMessage };
  }
}

const { items: demoItems, storePrices: demoPrices } = demoCatalogue();
const overridden = demoPrices[0]!; // an item with a store price in S0001
const plain = demoItems[0]!;

const reads: Scenario = async (c) => [
  await outcome(GetItemDetailResponseSchema, () =>
    c.getItemDetail({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      itemCode: overridden.itemCode,
      terminalId: "R01",
    }),
  ),
  await outcome(GetItemDetailResponseSchema, () =>
    c.getItemDetail({ tenantId: demo.tenantId, storeCode: "S0002", itemCode: overridden.itemCode }),
  ),
  await outcome(GetItemDetailResponseSchema, () =>
    c.getItemDetail({ tenantId: demo.tenantId, storeCode: demo.storeCode, itemCode: plain.itemCode }),
  ),
  await outcome(BatchGetItemDetailsResponseSchema, () =>
    c.batchGetItemDetails({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      itemCodes: ["ITEM0002", "NOPE-1", "ITEM0001", "ITEM0002", "ITEM9999"],
    }),
  ),
  await outcome(ListItemsResponseSchema, () =>
    c.listItems({ tenantId: demo.tenantId, storeCode: demo.storeCode, categoryCode: "DRINK", pageSize: 3 }),
  ),
  await outcome(ListTaxesResponseSchema, () => c.listTaxes({ tenantId: demo.tenantId })),
  // Errors: the same code and message whatever the protocol.
  await outcome(GetItemDetailResponseSchema, () =>
    c.getItemDetail({ tenantId: demo.tenantId, storeCode: demo.storeCode, itemCode: "NO-SUCH-ITEM" }),
  ),
  await outcome(GetItemDetailResponseSchema, () =>
    c.getItemDetail({ tenantId: "T9999", storeCode: demo.storeCode, itemCode: "ITEM0001" }),
  ),
  await outcome(GetItemDetailResponseSchema, () =>
    c.getItemDetail({ tenantId: demo.tenantId, storeCode: demo.storeCode }),
  ),
  await outcome(BatchGetItemDetailsResponseSchema, () =>
    c.batchGetItemDetails({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      itemCodes: Array.from({ length: 501 }, (_, i) => `X${i}`),
    }),
  ),
  await outcome(ListItemsResponseSchema, () =>
    c.listItems({ tenantId: demo.tenantId, storeCode: demo.storeCode, pageToken: "not a token" }),
  ),
];

// Writes go to a tenant of the transport's own, so transports cannot see each other's writes.
const writes: Scenario = async (c, tenant) => {
  const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });
  const timestamps = ["createdAt", "updatedAt", "tenantId"];
  return [
    await outcome(
      UpsertItemResponseSchema,
      () =>
        c.upsertItem({
          tenantId: tenant,
          itemCode: "4901234567894",
          description: "緑茶 500ml",
          descriptionShort: "緑茶",
          categoryCode: "DRINK",
          taxCode: "11",
          unitPrice: yen(9_007_199_254_740_993n), // above 2^53: int64 must survive JSON and binary
          barcode: "4901234567894",
          imageUrls: ["https://images.pos.example/tea.jpg"],
        }),
      timestamps,
    ),
    await outcome(
      UpsertStorePriceResponseSchema,
      () => c.upsertStorePrice({ tenantId: tenant, storeCode: "S0001", itemCode: "4901234567894", price: yen(128n) }),
      timestamps,
    ),
    await outcome(
      UpsertStorePriceResponseSchema,
      () =>
        c.upsertStorePrice({
          tenantId: tenant,
          storeCode: "S0001",
          itemCode: "4901234567894",
          price: create(MoneySchema, { amount: 1n, currencyCode: "USD" }),
        }),
      timestamps,
    ),
    await outcome(
      GetItemDetailResponseSchema,
      () => c.getItemDetail({ tenantId: tenant, storeCode: "S0001", itemCode: "4901234567894" }),
      timestamps,
    ),
    await outcome(UpsertItemResponseSchema, () =>
      c.upsertItem({
        tenantId: tenant,
        itemCode: "X",
        description: "x",
        categoryCode: "DRINK",
        taxCode: "99",
        unitPrice: yen(1n),
      }),
    ),
    await outcome(DeleteItemResponseSchema, () => c.deleteItem({ tenantId: tenant, itemCode: "4901234567894" })),
    await outcome(GetItemDetailResponseSchema, () =>
      c.getItemDetail({ tenantId: tenant, storeCode: "S0001", itemCode: "4901234567894" }),
    ),
  ];
};

// Each transport writes under its own tenant (TM0, TM1, …); compare the rest.
const sameTenant = (o: Outcome[]) => JSON.parse(JSON.stringify(o).replace(/TM\d+/g, "TM*")) as Outcome[];

type Results = Map<string, { reads: Outcome[]; writes: Outcome[] }>;
const resultsByPath = new Map<string, Results>();

describe.each([
  ["the unary fast path", true],
  ["connect-es alone", false],
])("protocol matrix: one server, one port, every transport, %s", (pathName, unaryFastPath) => {
  let server: RunningMasterData;
  const results: Results = new Map();
  resultsByPath.set(pathName, results);

  beforeAll(async () => {
    server = await startMasterData({ unaryFastPath });
    let n = 0;
    for (const { name, transport, expect: wire } of transportMatrix(server.baseUrl)) {
      const client = createClient(ItemService, transport);
      const before = server.seen.length;
      const r = await reads(client, demo.tenantId);
      const readRequests = server.seen.slice(before);
      const w = await writes(client, `TM${n++}`);
      results.set(name, { reads: r, writes: w });
      // Evidence that the transport really spoke its protocol to this port.
      expect(readRequests.length, name).toBe(r.length);
      for (const req of readRequests) {
        expect(req.httpVersion, `${name} HTTP version`).toBe(wire.httpVersion);
        expect(req.contentType, `${name} content-type`).toMatch(wire.contentType);
        expect(req.method, `${name} method`).toBe(wire.method ?? "POST");
      }
    }
  });
  afterAll(() => server?.close());

  it("reads the catalogue and writes its own tenant over each of the six transports", () => {
    expect([...results.keys()]).toEqual([
      "Connect JSON / HTTP/1.1",
      "Connect binary / HTTP/1.1",
      "Connect binary / HTTP/2",
      "gRPC / HTTP/2",
      "gRPC-Web binary / HTTP/1.1",
      "Connect JSON GET / HTTP/1.1",
    ]);
    for (const [name, r] of results) {
      expect(r.reads[0], name).toEqual({
        ok: {
          item: expect.objectContaining({
            itemCode: overridden.itemCode,
            price: { amount: String(overridden.price!.amount), currencyCode: "JPY" },
          }),
        },
      });
      expect(r.writes[0], name).toEqual({
        ok: { created: true, item: expect.objectContaining({ itemCode: "4901234567894", description: "緑茶 500ml" }) },
      });
    }
  });

  it("gives identical results and errors over every transport", () => {
    const [first, ...rest] = [...results.entries()];
    for (const [name, r] of rest) {
      expect(r.reads, name).toEqual(first![1].reads);
      expect(sameTenant(r.writes), name).toEqual(sameTenant(first![1].writes));
    }
  });

  it("answers every read after a write with the new state, over each transport (shared answers never go stale)", async () => {
    const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });
    let n = 0;
    for (const { name, transport } of transportMatrix(server.baseUrl)) {
      const c = createClient(ItemService, transport);
      const tenantId = `TS${n++}`;
      const itemCode = "4901234567894";
      const upsert = (description: string, amount: bigint) =>
        c.upsertItem({ tenantId, itemCode, description, categoryCode: "DRINK", taxCode: "11", unitPrice: yen(amount) });
      // Each read twice: the second is the one a cached answer would serve.
      const read = async () => {
        const [a, b] = [
          await c.getItemDetail({ tenantId, storeCode: "S0001", itemCode }),
          await c.getItemDetail({ tenantId, storeCode: "S0001", itemCode }),
        ];
        const [x, y] = [
          await c.batchGetItemDetails({ tenantId, storeCode: "S0001", itemCodes: [itemCode] }),
          await c.batchGetItemDetails({ tenantId, storeCode: "S0001", itemCodes: [itemCode] }),
        ];
        expect(b, name).toEqual(a);
        expect(y, name).toEqual(x);
        expect(x.items[0], name).toEqual(a.item);
        return { description: a.item?.description, price: a.item?.price?.amount, store: a.item?.storePrice?.amount };
      };
      await upsert("first", 100n);
      expect(await read(), name).toEqual({ description: "first", price: 100n, store: undefined });
      await c.upsertStorePrice({ tenantId, storeCode: "S0001", itemCode, price: yen(90n) });
      expect(await read(), name).toEqual({ description: "first", price: 90n, store: 90n });
      await upsert("second", 120n);
      expect(await read(), name).toEqual({ description: "second", price: 90n, store: 90n });
      const elsewhere = await c.getItemDetail({ tenantId, storeCode: "S0002", itemCode });
      expect(elsewhere.item?.price?.amount, name).toBe(120n);
      await c.deleteItem({ tenantId, itemCode });
      await expect(c.getItemDetail({ tenantId, storeCode: "S0001", itemCode }), name).rejects.toMatchObject({
        code: Code.NotFound,
      });
      await upsert("revived", 130n);
      expect(await read(), name).toEqual({ description: "revived", price: 90n, store: 90n });
    }
  });

  it("answers with the catalogue's data, store prices merged", async () => {
    const c = createClient(ItemService, transportMatrix(server.baseUrl)[3]!.transport);
    const expectedUnit = demoItems.find((i) => i.itemCode === overridden.itemCode)!.unitPrice!.amount;
    const { item: storeView } = await c.getItemDetail({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      itemCode: overridden.itemCode,
    });
    expect(storeView).toMatchObject({
      itemCode: overridden.itemCode,
      storeCode: demo.storeCode,
      unitPrice: { amount: expectedUnit, currencyCode: "JPY" },
      storePrice: { amount: overridden.price!.amount, currencyCode: "JPY" },
      price: { amount: overridden.price!.amount, currencyCode: "JPY" },
    });
    const { item: otherStore } = await c.getItemDetail({
      tenantId: demo.tenantId,
      storeCode: "S0002",
      itemCode: overridden.itemCode,
    });
    expect(otherStore?.storePrice).toBeUndefined();
    expect(otherStore?.price?.amount).toBe(expectedUnit);
    const { item: plainView } = await c.getItemDetail({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      itemCode: plain.itemCode,
    });
    expect(plainView).toMatchObject({
      itemCode: plain.itemCode,
      description: plain.description,
      descriptionShort: plain.descriptionShort,
      categoryCode: plain.categoryCode,
      barcode: plain.barcode,
      taxCode: plain.taxCode,
      imageUrls: plain.imageUrls,
      isDiscountRestricted: plain.isDiscountRestricted,
    });
    expect(plainView?.createdAt?.seconds).toBeGreaterThan(0n);
    const batch = await c.batchGetItemDetails({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      itemCodes: ["ITEM0002", "NOPE-1", "ITEM0001", "ITEM0002", "ITEM9999"],
    });
    expect(batch.items.map((i) => i.itemCode)).toEqual(["ITEM0002", "ITEM0001", "ITEM9999"]);
    expect(batch.notFoundItemCodes).toEqual(["NOPE-1"]);
    const page1 = await c.listItems({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      categoryCode: "DRINK",
      pageSize: 3,
    });
    expect(page1.items.map((i) => i.categoryCode)).toEqual(["DRINK", "DRINK", "DRINK"]);
    const page2 = await c.listItems({
      tenantId: demo.tenantId,
      storeCode: demo.storeCode,
      categoryCode: "DRINK",
      pageSize: 3,
      pageToken: page1.nextPageToken,
    });
    expect(page2.items[0]!.itemCode > page1.items[2]!.itemCode).toBe(true);
    const { taxes } = await c.listTaxes({ tenantId: demo.tenantId });
    expect(taxes.map((t) => t.taxCode)).toEqual(["00", "01", "02", "11", "12"]);

    const errors = results.get("gRPC / HTTP/2")!.reads.slice(6);
    expect(errors).toEqual([
      { code: "NotFound", message: 'item "NO-SUCH-ITEM" not found in tenant "T0001"' },
      { code: "NotFound", message: 'tenant "T9999" has no catalogue' },
      { code: "InvalidArgument", message: "item_code: is required" },
      { code: "InvalidArgument", message: "item_codes: at most 500 codes per call, got 501" },
      { code: "InvalidArgument", message: expect.stringMatching(/^page_token: is malformed/) },
    ]);
  });

  it("keeps int64 money exact and applies writes", () => {
    const w = results.get("Connect JSON / HTTP/1.1")!.writes;
    expect(w[0]).toMatchObject({ ok: { created: true, item: { unitPrice: { amount: "9007199254740993" } } } });
    expect(w[1]).toMatchObject({ ok: { item: { storePrice: { amount: "128" }, price: { amount: "128" } } } });
    expect(w[2]).toMatchObject({ code: "InvalidArgument", message: expect.stringContaining("currency") });
    expect(w[3]).toMatchObject({ ok: { item: { price: { amount: "128" } } } });
    expect(w[4]).toMatchObject({ code: "InvalidArgument", message: expect.stringMatching(/^tax_code/) });
    expect(w[5]).toEqual({ ok: {} });
    expect(w[6]).toMatchObject({ code: "NotFound" });
  });
});

// Two servers seed the catalogue at different instants: compare everything but the timestamps.
const timeless = (o: Outcome[]) =>
  JSON.parse(JSON.stringify(o).replace(/"(createdAt|updatedAt)":"[^"]*"/g, '"$1":"*"')) as Outcome[];

describe("protocol matrix: both paths", () => {
  it("the unary fast path and connect-es alone answer every transport identically", () => {
    const [fast, fallback] = [...resultsByPath.values()];
    expect(fast?.size).toBe(6);
    for (const [name, r] of fast ?? []) {
      expect(timeless(r.reads), name).toEqual(timeless(fallback?.get(name)?.reads ?? []));
      expect(timeless(sameTenant(r.writes)), name).toEqual(timeless(sameTenant(fallback?.get(name)?.writes ?? [])));
    }
  });
});
