import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { StoreTimeoutError, StoreUnavailableError } from "@pos/common";
import { MoneySchema } from "@pos/gen/pos/common/v1/money_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { beforeAll, describe, expect, it } from "vitest";
import { demo, demoCatalogue } from "./demo-catalogue.js";
import { createMemoryItemStore } from "./store/memory-item-store.js";
import { createFaultyItemStore, createInMemoryMasterData } from "./testing/in-memory.js";

// ItemService's handlers in memory (createRouterTransport, the memory store, the server's error
// mapping): the same answers the protocol matrix checks over sockets, in milliseconds.

const yen = (amount: bigint) => create(MoneySchema, { amount, currencyCode: "JPY" });
const { items: demoItems, storePrices: demoPrices } = demoCatalogue();
const overridden = demoPrices[0]!;
const scope = { tenantId: demo.tenantId, storeCode: demo.storeCode };

async function failure(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (e) {
    const err = ConnectError.from(e);
    return { code: Code[err.code], message: err.rawMessage };
  }
  throw new Error("expected the call to fail");
}

let client: Client<typeof ItemService>;
beforeAll(async () => {
  client = createClient(ItemService, (await createInMemoryMasterData()).transport);
});

describe("ItemService in memory: reads", () => {
  it("answers an item with its store's price, and the catalogue price elsewhere", async () => {
    const unit = demoItems.find((i) => i.itemCode === overridden.itemCode)!.unitPrice!.amount;
    const { item } = await client.getItemDetail({ ...scope, itemCode: overridden.itemCode });
    expect(item).toMatchObject({
      itemCode: overridden.itemCode,
      storeCode: demo.storeCode,
      unitPrice: { amount: unit },
      storePrice: { amount: overridden.price!.amount },
      price: { amount: overridden.price!.amount },
    });
    const { item: elsewhere } = await client.getItemDetail({
      ...scope,
      storeCode: "S0002",
      itemCode: overridden.itemCode,
    });
    expect(elsewhere?.storePrice).toBeUndefined();
    expect(elsewhere?.price?.amount).toBe(unit);
  });

  it("batches in request order, once per code, naming the codes it does not know", async () => {
    const batch = await client.batchGetItemDetails({
      ...scope,
      itemCodes: ["ITEM0002", "NOPE-1", "ITEM0001", "ITEM0002"],
    });
    expect(batch.items.map((i) => i.itemCode)).toEqual(["ITEM0002", "ITEM0001"]);
    expect(batch.notFoundItemCodes).toEqual(["NOPE-1"]);
  });

  it("pages through a category with a token, without repeating an item", async () => {
    const first = await client.listItems({ ...scope, categoryCode: "DRINK", pageSize: 2 });
    const second = await client.listItems({
      ...scope,
      categoryCode: "DRINK",
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    const codes = [...first.items, ...second.items].map((i) => i.itemCode);
    expect(codes).toEqual(
      demoItems
        .filter((i) => i.categoryCode === "DRINK")
        .slice(0, 4)
        .map((i) => i.itemCode),
    );
    expect(await failure(client.listItems({ ...scope, categoryCode: "FOOD", pageToken: first.nextPageToken }))).toEqual(
      { code: "InvalidArgument", message: expect.stringMatching(/^page_token: /) },
    );
  });

  it("lists the tax master for a tenant with a catalogue", async () => {
    const { taxes } = await client.listTaxes({ tenantId: demo.tenantId });
    expect(taxes.map((t) => t.taxCode)).toEqual(["00", "01", "02", "11", "12"]);
  });
});

describe("ItemService in memory: writes", () => {
  const tenant = "TW001";
  const tea = {
    tenantId: tenant,
    itemCode: "4901234567894",
    description: "Green tea 500ml",
    categoryCode: "DRINK",
    taxCode: "11",
    unitPrice: yen(150n),
  };

  it("creates, updates, prices per store, deletes, and then no longer finds an item", async () => {
    expect((await client.upsertItem(tea)).created).toBe(true);
    const { item: updated, created } = await client.upsertItem({ ...tea, unitPrice: yen(160n) });
    expect(created).toBe(false);
    expect(updated?.unitPrice?.amount).toBe(160n);
    const { item: priced } = await client.upsertStorePrice({
      tenantId: tenant,
      storeCode: "S0001",
      itemCode: tea.itemCode,
      price: yen(128n),
    });
    expect(priced).toMatchObject({ storeCode: "S0001", price: { amount: 128n }, unitPrice: { amount: 160n } });
    await client.deleteItem({ tenantId: tenant, itemCode: tea.itemCode });
    expect(
      await failure(client.getItemDetail({ tenantId: tenant, storeCode: "S0001", itemCode: tea.itemCode })),
    ).toEqual({ code: "NotFound", message: `item "${tea.itemCode}" not found in tenant "${tenant}"` });
    expect(await failure(client.deleteItem({ tenantId: tenant, itemCode: tea.itemCode }))).toMatchObject({
      code: "NotFound",
    });
  });

  it("refuses a store price in another currency than the item's", async () => {
    await client.upsertItem({ ...tea, tenantId: "TW002" });
    expect(
      await failure(
        client.upsertStorePrice({
          tenantId: "TW002",
          storeCode: "S0001",
          itemCode: tea.itemCode,
          price: create(MoneySchema, { amount: 1n, currencyCode: "USD" }),
        }),
      ),
    ).toEqual({
      code: "InvalidArgument",
      message: `price.currency_code: must match the item's currency "JPY", got "USD"`,
    });
  });
});

describe("ItemService in memory: errors and their codes", () => {
  it("names the field of every bad request with invalid_argument", async () => {
    const cases: [Promise<unknown>, string | RegExp][] = [
      [client.getItemDetail({ ...scope }), "item_code: is required"],
      [client.getItemDetail({ ...scope, tenantId: "", itemCode: "X" }), "tenant_id: is required"],
      [client.getItemDetail({ ...scope, itemCode: "has space" }), /^item_code: must be 1-64 printable characters/],
      [client.batchGetItemDetails({ ...scope, itemCodes: [] }), "item_codes: must name at least one item"],
      [
        client.batchGetItemDetails({ ...scope, itemCodes: Array.from({ length: 501 }, (_, i) => `X${i}`) }),
        "item_codes: at most 500 codes per call, got 501",
      ],
      [client.listItems({ ...scope, pageSize: 1001 }), /^page_size: must be 0 \(default 100\) to 1000, got 1001/],
      [
        client.upsertItem({ tenantId: "T1", itemCode: "A", description: "a", categoryCode: "C", taxCode: "99" }),
        /^tax_code: /,
      ],
      [
        client.upsertItem({
          tenantId: "T1",
          itemCode: "A",
          description: "a",
          categoryCode: "C",
          taxCode: "11",
          unitPrice: yen(-1n),
        }),
        "unit_price.amount: must not be negative, got -1",
      ],
    ];
    for (const [call, message] of cases) {
      expect(await failure(call)).toEqual({
        code: "InvalidArgument",
        message: typeof message === "string" ? message : expect.stringMatching(message),
      });
    }
  });

  it("tells a tenant without a catalogue from a missing item", async () => {
    const tenantless = 'tenant "T9999" has no catalogue';
    expect(await failure(client.getItemDetail({ ...scope, tenantId: "T9999", itemCode: "ITEM0001" }))).toEqual({
      code: "NotFound",
      message: tenantless,
    });
    expect(await failure(client.batchGetItemDetails({ ...scope, tenantId: "T9999", itemCodes: ["A"] }))).toEqual({
      code: "NotFound",
      message: tenantless,
    });
    expect(await failure(client.listItems({ ...scope, tenantId: "T9999" }))).toEqual({
      code: "NotFound",
      message: tenantless,
    });
    expect(await failure(client.listTaxes({ tenantId: "T9999" }))).toEqual({ code: "NotFound", message: tenantless });
    expect(await failure(client.getItemDetail({ ...scope, itemCode: "NO-SUCH-ITEM" }))).toEqual({
      code: "NotFound",
      message: `item "NO-SUCH-ITEM" not found in tenant "${demo.tenantId}"`,
    });
  });

  it("maps storage failures to unavailable / deadline_exceeded, and a bug to internal without its text", async () => {
    const faulty = createFaultyItemStore(createMemoryItemStore());
    await faulty.store.importRecords(demoItems.slice(0, 5), []);
    const c = createClient(ItemService, (await createInMemoryMasterData({ store: faulty.store })).transport);
    const get = () => c.getItemDetail({ ...scope, itemCode: "ITEM0001" });

    const dependency = "item store";
    faulty.failWith(new StoreUnavailableError("MongoDB unavailable: connect ECONNREFUSED 127.0.0.1:1", { dependency }));
    expect(await failure(get())).toEqual({ code: "Unavailable", message: "item store unavailable" });
    faulty.failWith(new StoreTimeoutError("MongoDB timed out after 2000 ms", { dependency }));
    expect(await failure(get())).toEqual({ code: "DeadlineExceeded", message: "item store timed out" });
    faulty.failWith(new TypeError("Cannot read properties of undefined (reading 'secret driver detail')"));
    const internal = await failure(get());
    expect(internal.code).toBe("Internal");
    expect(internal.message).toMatch(/^internal error \(request id /);
    expect(internal.message).not.toMatch(/secret driver detail/);

    faulty.failWith(undefined);
    expect((await get()).item?.itemCode).toBe("ITEM0001");
  });
});
