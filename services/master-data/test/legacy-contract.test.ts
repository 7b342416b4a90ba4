import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { testAuth } from "@pos/common/testing";
import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The original system's cart talks to master-data with grpcio stubs generated from its item_service.proto.
// Here a different gRPC stack (grpc-js with proto-loader, i.e. protobufjs) and grpcurl load OUR copy of that
// contract and call the real server over h2c: what a client of the original sees.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const legacyProto = "legacy/item_service/item_service.proto";
const run = promisify(execFile);

interface ItemDetail {
  item_code: string;
  item_name: string;
  price: number;
  tax_rate: number;
  category_code: string;
  barcode: string;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}
type Unary = (
  req: Record<string, string>,
  md: Metadata,
  cb: (err: ServiceError | null, res?: ItemDetail) => void,
) => void;

// The original cart sends its credential as metadata, like every gRPC client: a token of the
// tenant it asks for (an unknown tenant is then not_found, not a foreign one).
async function credential(tenant: string): Promise<Metadata> {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${await testAuth.token({ tenant: tenant || "T0001" })}`);
  return metadata;
}

describe("the original contract: item_service.ItemService/GetItemDetail", () => {
  let md: RunningMasterData;
  let client: { GetItemDetail: Unary; close(): void };
  const call = async (req: Record<string, string>) => {
    const metadata = await credential(req.tenant_id ?? "");
    return new Promise<ItemDetail>((resolve, reject) =>
      client.GetItemDetail(req, metadata, (err, res) => (err ? reject(err) : resolve(res!))),
    );
  };
  const callError = async (req: Record<string, string>) => {
    try {
      await call(req);
    } catch (e) {
      return e as ServiceError;
    }
    throw new Error("expected an error");
  };

  beforeAll(async () => {
    md = await startMasterData();
    // keepCase, plain numbers, defaults filled in: as the original's Python stubs present a message.
    const definition = loadSync(legacyProto, { includeDirs: [`${repoRoot}proto`], keepCase: true, defaults: true });
    const pkg = loadPackageDefinition(definition).item_service as GrpcObject;
    const Ctor = pkg.ItemService as unknown as new (address: string, creds: unknown) => typeof client;
    client = new Ctor(`127.0.0.1:${md.port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await md?.close();
  });

  const upsert = (itemCode: string, amount: bigint, taxCode: string) =>
    md.store.upsertItem({
      $typeName: "pos.masterdata.v1.UpsertItemRequest",
      tenantId: "T0001",
      itemCode,
      description: `legacy ${itemCode}`,
      descriptionShort: "",
      categoryCode: "LEGACY",
      taxCode,
      unitPrice: { $typeName: "pos.common.v1.Money", amount, currencyCode: "JPY" },
      barcode: `49${itemCode}`,
      isDiscountRestricted: false,
      imageUrls: [],
    });

  it("answers over gRPC with the store's item, field by field", async () => {
    const [item] = await md.store.getItems("T0001", "S0001", ["ITEM0001"]);
    const res = await call({ tenant_id: "T0001", store_code: "S0001", item_code: "ITEM0001", terminal_id: "R01" });
    expect(res).toEqual({
      item_code: "ITEM0001",
      item_name: item!.description,
      price: Number(item!.price!.amount),
      tax_rate: expect.any(Number),
      category_code: item!.categoryCode,
      barcode: item!.barcode,
      is_active: true,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it("price: the store's override, exact up to int32, OUT_OF_RANGE beyond (never truncated)", async () => {
    await upsert("LEGACY-MAX", 2_147_483_647n, "01");
    expect((await call({ tenant_id: "T0001", store_code: "S0001", item_code: "LEGACY-MAX" })).price).toBe(
      2_147_483_647,
    );
    await upsert("LEGACY-BIG", 2_147_483_648n, "01");
    const err = await callError({ tenant_id: "T0001", store_code: "S0001", item_code: "LEGACY-BIG" });
    expect(err.code).toBe(status.OUT_OF_RANGE);
    expect(err.details).toBe(
      `price 2147483648 JPY of item "LEGACY-BIG" does not fit the original contract's int32 price`,
    );
    await md.store.upsertStorePrice("T0001", "S0002", "LEGACY-BIG", {
      $typeName: "pos.common.v1.Money",
      amount: 980n,
      currencyCode: "JPY",
    });
    expect((await call({ tenant_id: "T0001", store_code: "S0002", item_code: "LEGACY-BIG" })).price).toBe(980);
  });

  it("tax_rate: whole percent from the tax master; internal and external look the same", async () => {
    const rates: Record<string, number> = {};
    for (const taxCode of ["00", "01", "02", "11", "12"]) {
      await upsert(`LEGACY-TAX${taxCode}`, 100n, taxCode);
      rates[taxCode] = (
        await call({ tenant_id: "T0001", store_code: "S0001", item_code: `LEGACY-TAX${taxCode}` })
      ).tax_rate;
    }
    expect(rates).toEqual({ "00": 0, "01": 10, "02": 10, "11": 8, "12": 8 });
  });

  it("dates: ISO 8601 strings in UTC, to the millisecond", async () => {
    const { item } = await upsert("LEGACY-DATE", 100n, "01");
    const res = await call({ tenant_id: "T0001", store_code: "S0001", item_code: "LEGACY-DATE" });
    const created = new Date(res.created_at);
    const nanos = BigInt(created.getTime()) * 1_000_000n;
    const stored = item.createdAt!.seconds * 1_000_000_000n + BigInt(item.createdAt!.nanos);
    expect(stored - nanos).toBeGreaterThanOrEqual(0n);
    expect(stored - nanos).toBeLessThan(1_000_000n);
    expect(res.updated_at >= res.created_at).toBe(true);
  });

  it("unknown item, unknown tenant, missing fields: gRPC NOT_FOUND / INVALID_ARGUMENT with a clear message", async () => {
    const unknownItem = await callError({ tenant_id: "T0001", store_code: "S0001", item_code: "NOPE" });
    expect(unknownItem.code).toBe(status.NOT_FOUND);
    expect(unknownItem.details).toBe('item "NOPE" not found in tenant "T0001"');
    const unknownTenant = await callError({ tenant_id: "T9999", store_code: "S0001", item_code: "ITEM0001" });
    expect(unknownTenant.code).toBe(status.NOT_FOUND);
    expect(unknownTenant.details).toBe('tenant "T9999" has no catalogue');
    const missing = await callError({ tenant_id: "T0001", store_code: "S0001" });
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    // connect-es percent-encodes grpc-message with encodeURIComponent, grpc-js decodes it with decodeURI, which
    // leaves "%3A" as it is; grpcio (the original's Python client) decodes it fully.
    expect(decodeURIComponent(missing.details)).toMatch(/item_code: is required/);
  });

  it("grpcurl with the legacy proto gets the same answer", async () => {
    const request = { tenant_id: "T0001", store_code: "S0001", item_code: "ITEM0001" };
    const { stdout } = await run(`${homedir()}/go/bin/grpcurl`, [
      "-plaintext",
      "-H",
      `authorization: ${testAuth.adminBearer}`,
      "-import-path",
      `${repoRoot}proto`,
      "-proto",
      legacyProto,
      "-d",
      JSON.stringify(request),
      `127.0.0.1:${md.port}`,
      "item_service.ItemService/GetItemDetail",
    ]);
    const viaGrpcJs = await call(request);
    expect(JSON.parse(stdout)).toEqual({
      itemCode: viaGrpcJs.item_code,
      itemName: viaGrpcJs.item_name,
      price: viaGrpcJs.price,
      taxRate: viaGrpcJs.tax_rate,
      categoryCode: viaGrpcJs.category_code,
      barcode: viaGrpcJs.barcode,
      isActive: true,
      createdAt: viaGrpcJs.created_at,
      updatedAt: viaGrpcJs.updated_at,
    });
  });

  it("answers Connect JSON over HTTP/1.1 too (curl-able)", async () => {
    const res = await fetch(`${md.baseUrl}/item_service.ItemService/GetItemDetail`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": testAuth.terminalKey },
      body: JSON.stringify({ tenant_id: "T0001", store_code: "S0001", item_code: "ITEM0001" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ itemCode: "ITEM0001", isActive: true });
  });
});

// The original's own file (a fixture copied verbatim from the seeds): its wire shape must be ours, name for
// name, number for number.
describe("the legacy proto is the original's, on the wire", () => {
  it("same package, service, methods, fields (numbers, types, names)", () => {
    const shape = (root: protobuf.Root) => {
      const ns = root.lookup("item_service") as protobuf.Namespace;
      return ns.nestedArray.map((t) =>
        t instanceof protobuf.Service
          ? { service: t.name, methods: t.methodsArray.map((m) => [m.name, m.requestType, m.responseType]) }
          : {
              message: t.name,
              fields: (t as protobuf.Type).fieldsArray.map((f) => [f.id, f.type, f.name, f.repeated, f.optional]),
            },
      );
    };
    const ours = new protobuf.Root();
    ours.loadSync(`${repoRoot}proto/${legacyProto}`, { keepCase: true });
    const original = protobuf.parse(
      readFileSync(new URL("./fixtures/original-item_service.proto.txt", import.meta.url), "utf8"),
      {
        keepCase: true,
      },
    ).root;
    expect(shape(original)).toHaveLength(3);
    expect(shape(ours)).toEqual(shape(original));
  });
});
