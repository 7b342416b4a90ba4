import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { GetItemDetailRequestSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";
import { grpcFrame, h1Request, h2Request } from "./raw-http.js";

const path = "/pos.masterdata.v1.ItemService/GetItemDetail";
const goodJson = JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });

// Every bad input gets a clear error, and the server keeps serving afterwards.
describe.each([
  ["the unary fast path", true],
  ["connect-es alone", false],
])("bad input never breaks the server: %s", (_name, unaryFastPath) => {
  let server: RunningMasterData;
  beforeAll(async () => {
    server = await startMasterData({ readMaxBytes: 64 * 1024, unaryFastPath });
  });
  afterAll(() => server?.close());

  const connectJson = (body: string | Buffer, contentType = "application/json") =>
    h1Request(server.baseUrl, path, { headers: { "content-type": contentType }, body });
  const errorOf = (body: Buffer) => JSON.parse(body.toString("utf8")) as { code: string; message: string };

  it("malformed JSON → invalid_argument (HTTP 400)", async () => {
    const res = await connectJson("{not json");
    expect(res.status).toBe(400);
    expect(errorOf(res.body).code).toBe("invalid_argument");
  });

  it("JSON of the wrong type → invalid_argument naming the field; unknown fields are ignored", async () => {
    const wrongType = await connectJson(JSON.stringify({ tenantId: 5 }));
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType.body)).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("tenant_id"),
    });
    // Forward compatibility: a newer client's extra field must not break an older server.
    const newer = await connectJson(JSON.stringify({ ...JSON.parse(goodJson), fieldFromTheFuture: 1 }));
    expect(newer.status).toBe(200);
    // A misspelt field leaves the real one empty, and validation names it.
    const typo = await connectJson(JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemcode: "ITEM0001" }));
    expect(errorOf(typo.body)).toMatchObject({ code: "invalid_argument", message: "item_code: is required" });
  });

  it("missing, oversized and malformed fields → invalid_argument naming the field", async () => {
    const cases: [object, RegExp][] = [
      [{ storeCode: "S0001", itemCode: "ITEM0001" }, /^tenant_id: is required/],
      [{ tenantId: "T0001", itemCode: "ITEM0001" }, /^store_code: is required/],
      [{ tenantId: "T0001", storeCode: "S0001", itemCode: "A B" }, /^item_code: must be/],
      [{ tenantId: "T0001", storeCode: "S0001", itemCode: "X".repeat(65) }, /^item_code: must be 1-64/],
      [{ tenantId: "T".repeat(33), storeCode: "S0001", itemCode: "ITEM0001" }, /^tenant_id: must be 1-32/],
      [
        { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001", terminalId: "t".repeat(65) },
        /^terminal_id: must be at most 64/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await connectJson(JSON.stringify(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(message) });
    }
  });

  it("wrong content-type → 415 Unsupported Media Type", async () => {
    const res = await connectJson(goodJson, "text/plain");
    expect(res.status).toBe(415);
  });

  // Before our connect-es patch (patches/), a decode failure came back as `internal`.
  it("garbage protobuf → invalid_argument that says so", async () => {
    const res = await connectJson(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), "application/proto");
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/^parse binary: /),
    });
  });

  it("a body over readMaxBytes → resource_exhausted", async () => {
    const res = await connectJson(
      JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "x".repeat(100_000) }),
    );
    expect(errorOf(res.body).code).toBe("resource_exhausted");
  });

  it("gRPC: garbage frame, bad grpc-timeout → grpc-status, not a hang", async () => {
    const garbage = await h2Request(server.baseUrl, path, {
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(Buffer.from([0xff, 0xff, 0xff])),
    });
    expect(garbage.status).toBe(200);
    expect(garbage.trailers["grpc-status"]).toBe("3"); // invalid_argument, see "garbage protobuf" above
    expect(decodeURIComponent(garbage.trailers["grpc-message"] ?? "")).toMatch(/^parse binary: /);
    const badTimeout = await h2Request(server.baseUrl, path, {
      headers: { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "soon" },
      body: grpcFrame(toBinary(GetItemDetailRequestSchema, create(GetItemDetailRequestSchema, JSON.parse(goodJson)))),
    });
    const status = badTimeout.trailers["grpc-status"] ?? badTimeout.headers["grpc-status"];
    expect(status).toBe("3");
    expect(decodeURIComponent(badTimeout.trailers["grpc-message"] ?? badTimeout.headers["grpc-message"] ?? "")).toMatch(
      /timeout/i,
    );
  });

  it("a truncated gRPC frame → an error status", async () => {
    const res = await h2Request(server.baseUrl, path, {
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: Buffer.from([0, 0, 0, 0, 50, 1, 2]),
    });
    const status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
    expect(status).toBeDefined();
    expect(status).not.toBe("0");
  });

  it("unknown route → 404 (see protocol-errors.test.ts for each protocol); a write over GET → rejected", async () => {
    const missing = await h1Request(server.baseUrl, "/pos.masterdata.v1.ItemService/Nope", {
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(missing.status).toBe(404);
    const getWrite = await h1Request(
      server.baseUrl,
      "/pos.masterdata.v1.ItemService/UpsertItem?encoding=json&message=%7B%7D",
      { method: "GET" },
    );
    expect(getWrite.status).toBeGreaterThanOrEqual(400);
  });

  it("still serves every protocol afterwards", async () => {
    const health = await h1Request(server.baseUrl, "/healthz", { method: "GET" });
    expect(health.status).toBe(200);
    for (const { name, transport } of transportMatrix(server.baseUrl)) {
      const { item } = await createClient(ItemService, transport).getItemDetail(JSON.parse(goodJson));
      expect(item?.itemCode, name).toBe("ITEM0001");
    }
  });
});
