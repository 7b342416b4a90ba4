import { execFile } from "node:child_process";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { GetItemDetailResponseSchema, ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";

// The tools a person debugs with, as real processes against a real socket.
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const buf = `${repoRoot}node_modules/.bin/buf`;
const grpcurl = `${homedir()}/go/bin/grpcurl`;
const method = "pos.masterdata.v1.ItemService/GetItemDetail";
const request = { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0003" };

describe("external clients: curl, buf curl, grpcurl", () => {
  let server: RunningMasterData;
  let expected: unknown;
  beforeAll(async () => {
    server = await startMasterData();
    const reply = await createClient(ItemService, transportMatrix(server.baseUrl)[0]!.transport).getItemDetail(request);
    expected = toJson(GetItemDetailResponseSchema, reply);
  });
  afterAll(() => server?.close());

  const url = () => `${server.baseUrl}/${method}`;

  it("curl: Connect JSON POST over HTTP/1.1", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "--fail-with-body",
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify(request),
      url(),
    ]);
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it("curl: Connect GET (cacheable read) over HTTP/1.1", async () => {
    const query = `encoding=json&message=${encodeURIComponent(JSON.stringify(request))}`;
    const { stdout } = await run("curl", ["-sS", "--fail-with-body", "--http1.1", `${url()}?${query}`]);
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it("curl: Connect JSON over cleartext HTTP/2 (prior knowledge)", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "--fail-with-body",
      "--http2-prior-knowledge",
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify(request),
      url(),
    ]);
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it("curl: an unknown item is HTTP 404 with a Connect error naming it", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "-w",
      "\\n%{http_code}",
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify({ ...request, itemCode: "NOPE" }),
      url(),
    ]);
    const [body, status] = stdout.split("\n");
    expect(status).toBe("404");
    expect(JSON.parse(body!)).toEqual({
      code: "not_found",
      message: 'item "NOPE" not found in tenant "T0001"',
      details: [
        {
          type: "google.rpc.ErrorInfo",
          value: expect.any(String),
          debug: {
            reason: "ITEM_NOT_FOUND",
            domain: "pos.example",
            metadata: { tenant_id: "T0001", item_code: "NOPE" },
          },
        },
      ],
    });
  });

  for (const protocol of ["grpc", "grpcweb", "connect"] as const) {
    it(`buf curl --protocol ${protocol}`, async () => {
      const args = [
        "curl",
        "--schema",
        `${repoRoot}proto`,
        "--protocol",
        protocol,
        "-d",
        JSON.stringify(request),
        url(),
      ];
      if (protocol === "grpc") args.splice(1, 0, "--http2-prior-knowledge");
      const { stdout } = await run(buf, args);
      expect(JSON.parse(stdout)).toEqual(expected);
    });
  }

  it("buf curl reports a gRPC error code", async () => {
    const args = [
      "curl",
      "--http2-prior-knowledge",
      "--schema",
      `${repoRoot}proto`,
      "--protocol",
      "grpc",
      "-d",
      JSON.stringify({ ...request, itemCode: "" }),
      url(),
    ];
    const err = await run(buf, args).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(err?.stderr).toMatch(/invalid_argument/);
    expect(err?.stderr).toMatch(/item_code: is required/);
  });

  it("grpcurl (proto files, plaintext HTTP/2)", async () => {
    const { stdout } = await run(grpcurl, [
      "-plaintext",
      "-import-path",
      `${repoRoot}proto`,
      "-proto",
      "pos/masterdata/v1/item_service.proto",
      "-d",
      JSON.stringify(request),
      `127.0.0.1:${server.port}`,
      method,
    ]);
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});

// No proto files on the client side: the schema comes from the server's reflection service.
describe("external clients without local protos: server reflection", () => {
  let server: RunningMasterData;
  let expected: unknown;
  beforeAll(async () => {
    server = await startMasterData();
    const reply = await createClient(ItemService, transportMatrix(server.baseUrl)[0]!.transport).getItemDetail(request);
    expected = toJson(GetItemDetailResponseSchema, reply);
  });
  afterAll(() => server?.close());
  const target = () => `127.0.0.1:${server.port}`;

  it("grpcurl list names every service, health and reflection included", async () => {
    const { stdout } = await run(grpcurl, ["-plaintext", target(), "list"]);
    expect(stdout.trim().split("\n")).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "item_service.ItemService",
      "pos.masterdata.v1.ItemService",
    ]);
  });

  it("grpcurl describe shows a method, a message with its imported Money, and an enum", async () => {
    const method = await run(grpcurl, [
      "-plaintext",
      target(),
      "describe",
      "pos.masterdata.v1.ItemService.GetItemDetail",
    ]);
    expect(method.stdout).toContain(
      "rpc GetItemDetail ( .pos.masterdata.v1.GetItemDetailRequest ) returns ( .pos.masterdata.v1.GetItemDetailResponse )",
    );
    const item = await run(grpcurl, ["-plaintext", target(), "describe", "pos.masterdata.v1.Item"]);
    expect(item.stdout).toMatch(/\.pos\.common\.v1\.Money unit_price = \d+;/);
    const money = await run(grpcurl, ["-plaintext", target(), "describe", "pos.common.v1.Money"]);
    expect(money.stdout).toContain("int64 amount");
  });

  it("grpcurl calls a method and health Check", async () => {
    const call = await run(grpcurl, ["-plaintext", "-d", JSON.stringify(request), target(), method]);
    expect(JSON.parse(call.stdout)).toEqual(expected);
    const health = await run(grpcurl, [
      "-plaintext",
      "-d",
      '{"service":"pos.masterdata.v1.ItemService"}',
      target(),
      "grpc.health.v1.Health/Check",
    ]);
    expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
  });

  it("grpcurl names an unknown symbol as not found", async () => {
    const err = await run(grpcurl, ["-plaintext", target(), "describe", "pos.masterdata.v1.Nope"]).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(err?.stderr).toMatch(/Symbol not found: pos\.masterdata\.v1\.Nope/);
  });

  for (const [protocol, reflectProtocol] of [
    ["grpc", "grpc-v1"],
    ["grpcweb", "grpc-v1alpha"],
    ["connect", "grpc-v1"],
  ] as const) {
    it(`buf curl --protocol ${protocol} with no --schema (reflection ${reflectProtocol})`, async () => {
      const { stdout } = await run(buf, [
        "curl",
        "--http2-prior-knowledge",
        "--protocol",
        protocol,
        "--reflect-protocol",
        reflectProtocol,
        "-d",
        JSON.stringify(request),
        `${server.baseUrl}/${method}`,
      ]);
      expect(JSON.parse(stdout)).toEqual(expected);
    });
  }

  it("buf curl --list-methods with no --schema", async () => {
    const { stdout } = await run(buf, ["curl", "--http2-prior-knowledge", "--list-methods", server.baseUrl]);
    expect(stdout).toContain("pos.masterdata.v1.ItemService/GetItemDetail\n");
    expect(stdout).toContain("grpc.health.v1.Health/Watch\n");
  });
});
