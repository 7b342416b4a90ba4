import { execFile } from "node:child_process";
import { homedir } from "node:os";
import { promisify } from "node:util";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { BadRequestSchema, ErrorInfoSchema } from "@pos/gen/google/rpc/error_details_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";
import { h1Request, h2Request } from "./raw-http.js";

// Errors a client can act on: google.rpc.BadRequest on invalid_argument (the field path of every
// bad field), google.rpc.ErrorInfo (reason + domain) on the others, through every protocol's own
// framing (Connect JSON and binary, gRPC's grpc-status-details-bin, gRPC-Web's trailers), on the
// fast path and through connect-fastify, read by real clients.
const run = promisify(execFile);
const grpcurl = `${homedir()}/go/bin/grpcurl`;

async function failure(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

describe.each([
  ["the unary fast path", true],
  ["connect-es alone", false],
])("error details: %s", (_name, unaryFastPath) => {
  let server: RunningMasterData;
  beforeAll(async () => {
    server = await startMasterData({ unaryFastPath });
  });
  afterAll(() => server?.close());

  const transports = () => [
    ...transportMatrix(server.baseUrl),
    {
      name: "gRPC-Web binary / HTTP/2",
      transport: createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "2", useBinaryFormat: true }),
    },
  ];

  it("invalid_argument carries a BadRequest naming each bad field, over every transport", async () => {
    for (const { name, transport } of transports()) {
      const client = createClient(ItemService, transport);
      const missing = await failure(() => client.getItemDetail({ tenantId: "T0001", storeCode: "S0001" }));
      expect(missing.code, name).toBe(3);
      const [bad] = missing.findDetails(BadRequestSchema);
      expect(bad?.fieldViolations, name).toEqual([
        expect.objectContaining({ field: "item_code", description: "is required", reason: "REQUIRED" }),
      ]);
      // A list element is named by its index: item_codes[1].
      const listed = await failure(() =>
        client.batchGetItemDetails({ tenantId: "T0001", storeCode: "S0001", itemCodes: ["ITEM0001", "A B"] }),
      );
      expect(
        listed.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field),
        name,
      ).toEqual(["item_codes[1]"]);
    }
  });

  it("the length bound of every request string names the field, nested and listed ones too", async () => {
    const client = createClient(ItemService, transportMatrix(server.baseUrl)[1]!.transport);
    const long = "x".repeat(5000);
    const err = await failure(() =>
      client.upsertItem({
        tenantId: "T0001",
        itemCode: "ITEM0001",
        description: "ok",
        imageUrls: ["https://example.com/a.png", long],
        unitPrice: { amount: 1n, currencyCode: long },
      }),
    );
    expect(err.rawMessage).toBe("unit_price.currency_code: must be at most 2048 characters, got 5000");
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => [v.field, v.reason])).toEqual([
      ["unit_price.currency_code", "TOO_LONG"],
      ["image_urls[1]", "TOO_LONG"],
    ]);
  });

  it("not_found carries an ErrorInfo with an UPPER_SNAKE reason, the domain and the ids, over every transport", async () => {
    for (const { name, transport } of transports()) {
      const client = createClient(ItemService, transport);
      const item = await failure(() =>
        client.getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "NOPE" }),
      );
      expect(item.findDetails(ErrorInfoSchema), name).toEqual([
        expect.objectContaining({
          reason: "ITEM_NOT_FOUND",
          domain: "pos.example",
          metadata: { tenant_id: "T0001", item_code: "NOPE" },
        }),
      ]);
      const tenant = await failure(() => client.listTaxes({ tenantId: "NOBODY" }));
      expect(tenant.findDetails(ErrorInfoSchema)[0]?.reason, name).toBe("TENANT_NOT_FOUND");
      expect(item.findDetails(BadRequestSchema), name).toEqual([]);
    }
  });

  it("Connect JSON shows the details to curl-like clients as type, value and a readable debug", async () => {
    const res = await h1Request(server.baseUrl, "/pos.masterdata.v1.ItemService/GetItemDetail", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "" }),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString("utf8"))).toEqual({
      code: "invalid_argument",
      message: "item_code: is required",
      details: [
        {
          type: "google.rpc.BadRequest",
          value: expect.any(String),
          debug: { fieldViolations: [{ field: "item_code", description: "is required", reason: "REQUIRED" }] },
        },
      ],
    });
  });

  it("gRPC carries them in grpc-status-details-bin (a google.rpc.Status), seen on the raw HTTP/2 stream", async () => {
    const res = await h2Request(server.baseUrl, "/pos.masterdata.v1.ItemService/GetItemDetail", {
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: Buffer.from([0, 0, 0, 0, 0]),
    });
    const all = { ...res.headers, ...res.trailers };
    expect(all["grpc-status"]).toBe("3");
    expect(String(all["grpc-status-details-bin"] ?? "")).not.toBe("");
    const status = Buffer.from(String(all["grpc-status-details-bin"]), "base64").toString("latin1");
    expect(status).toContain("type.googleapis.com/google.rpc.BadRequest");
    expect(status).toContain("tenant_id");
  });

  it("grpcurl prints the details, their types found through server reflection", async () => {
    const err = await run(grpcurl, [
      "-plaintext",
      "-d",
      JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "A B" }),
      server.baseUrl.replace("http://", ""),
      "pos.masterdata.v1.ItemService/GetItemDetail",
    ]).then(
      () => undefined,
      (e: { stdout: string; stderr: string }) => e,
    );
    const out = `${err?.stdout}${err?.stderr}`;
    expect(out).toContain("Code: InvalidArgument");
    expect(out).toContain('"@type": "type.googleapis.com/google.rpc.BadRequest"');
    expect(out).toMatch(/"field": "item_code"/);
    const notFound = await run(grpcurl, [
      "-plaintext",
      "-d",
      JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "NOPE" }),
      server.baseUrl.replace("http://", ""),
      "pos.masterdata.v1.ItemService/GetItemDetail",
    ]).then(
      () => undefined,
      (e: { stdout: string; stderr: string }) => e,
    );
    const printed = `${notFound?.stdout}${notFound?.stderr}`;
    expect(printed).toContain('"@type": "type.googleapis.com/google.rpc.ErrorInfo"');
    expect(printed).toContain('"reason": "ITEM_NOT_FOUND"');
    expect(printed).toContain('"domain": "pos.example"');
  });
});
