import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { GetItemDetailRequestSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";
import { grpcFrame, h1Request, h2Request, type RawResponse } from "./raw-http.js";

// Every bad call gets the code the gRPC and Connect specs name, in the framing of the protocol it
// came in: Connect → HTTP status + JSON error; gRPC → HTTP 200 + grpc-status (trailers, or headers
// when there is nothing else); gRPC-Web → HTTP 200 + a trailer frame in the body. Both paths: the
// unary fast path and connect-es alone (UNARY_FAST_PATH=false).

const path = "/pos.masterdata.v1.ItemService/GetItemDetail";
const good = create(GetItemDetailRequestSchema, { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });
const readMaxBytes = 16 * 1024;
const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
const oversized = toBinary(
  GetItemDetailRequestSchema,
  create(GetItemDetailRequestSchema, { ...good, itemCode: "x".repeat(readMaxBytes + 10) }),
);

/** The gRPC status of a gRPC-Web response: its body ends with a trailer frame (flag 0x80). */
function grpcWebStatus(res: RawResponse): { status?: string; message?: string } {
  let offset = 0;
  while (offset + 5 <= res.body.length) {
    const flags = res.body[offset] as number;
    const length = res.body.readUInt32BE(offset + 1);
    const data = res.body.subarray(offset + 5, offset + 5 + length).toString("latin1");
    offset += 5 + length;
    if ((flags & 0x80) === 0) continue;
    const fields = Object.fromEntries(
      data
        .split("\r\n")
        .filter(Boolean)
        .map((line) => {
          const i = line.indexOf(":");
          return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()];
        }),
    );
    return { status: fields["grpc-status"], message: decodeURIComponent(fields["grpc-message"] ?? "") };
  }
  return {};
}

function grpcStatus(res: RawResponse): { status?: string; message?: string } {
  const status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
  const message = res.trailers["grpc-message"] ?? res.headers["grpc-message"];
  return { status, message: decodeURIComponent(message ?? "") };
}

const connectError = (res: RawResponse) => JSON.parse(res.body.toString("utf8")) as { code: string; message: string };

describe.each([
  ["the unary fast path", true],
  ["connect-es alone", false],
])("errors in each protocol's framing: %s", (_name, unaryFastPath) => {
  let server: RunningMasterData;
  beforeAll(async () => {
    server = await startMasterData({ readMaxBytes, unaryFastPath });
  });
  afterAll(() => server?.close());

  const connectCall = (body: Buffer | string, headers: Record<string, string>, url = path) =>
    h1Request(server.baseUrl, url, { headers, body });
  const grpcCall = (body: Buffer, headers: Record<string, string> = {}, url = path) =>
    h2Request(server.baseUrl, url, {
      headers: { "content-type": "application/grpc", te: "trailers", ...headers },
      body,
    });
  const grpcWebCall = (body: Buffer, headers: Record<string, string> = {}, url = path) =>
    h1Request(server.baseUrl, url, { headers: { "content-type": "application/grpc-web+proto", ...headers }, body });

  it("a message that does not decode → invalid_argument", async () => {
    const connect = await connectCall(garbage, { "content-type": "application/proto" });
    expect(connect.status).toBe(400);
    expect(connectError(connect)).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/^parse binary/),
    });
    const grpc = await grpcCall(grpcFrame(garbage));
    expect(grpc.status).toBe(200);
    expect(grpcStatus(grpc)).toMatchObject({ status: "3", message: expect.stringMatching(/^parse binary/) });
    const grpcWeb = await grpcWebCall(grpcFrame(garbage));
    expect(grpcWeb.status).toBe(200);
    expect(grpcWebStatus(grpcWeb)).toMatchObject({ status: "3", message: expect.stringMatching(/^parse binary/) });
    const json = await connectCall("{not json", { "content-type": "application/json" });
    expect(connectError(json).code).toBe("invalid_argument");
  });

  it("a bad timeout → invalid_argument", async () => {
    const body = Buffer.from(toBinary(GetItemDetailRequestSchema, good));
    const connect = await connectCall(body, { "content-type": "application/proto", "connect-timeout-ms": "soon" });
    expect(connect.status).toBe(400);
    expect(connectError(connect).code).toBe("invalid_argument");
    const grpc = await grpcCall(grpcFrame(body), { "grpc-timeout": "soon" });
    expect(grpc.status).toBe(200);
    expect(grpcStatus(grpc)).toMatchObject({ status: "3", message: expect.stringMatching(/timeout/) });
    const grpcWeb = await grpcWebCall(grpcFrame(body), { "grpc-timeout": "9999999999S" });
    expect(grpcWebStatus(grpcWeb)).toMatchObject({ status: "3", message: expect.stringMatching(/timeout/) });
  });

  it("a message over readMaxBytes → resource_exhausted", async () => {
    const connect = await connectCall(Buffer.from(oversized), { "content-type": "application/proto" });
    expect(connect.status).toBe(429);
    expect(connectError(connect).code).toBe("resource_exhausted");
    const grpc = await grpcCall(grpcFrame(oversized));
    expect(grpc.status).toBe(200);
    expect(grpcStatus(grpc).status).toBe("8");
    const grpcWeb = await grpcWebCall(grpcFrame(oversized));
    expect(grpcWebStatus(grpcWeb).status).toBe("8");
  });

  it("an unknown service or method → unimplemented, in the protocol's framing", async () => {
    const unknown = "/pos.cart.v1.CartService/GetCart";
    const connect = await connectCall("{}", { "content-type": "application/json" }, unknown);
    expect(connect.status).toBe(404);
    expect(connectError(connect).code).toBe("unimplemented");
    for (const url of [unknown, "/pos.masterdata.v1.ItemService/Nope"]) {
      const grpc = await grpcCall(grpcFrame(new Uint8Array()), {}, url);
      expect(grpc.status, url).toBe(200);
      expect(grpc.headers["content-type"], url).toMatch(/^application\/grpc/);
      expect(grpcStatus(grpc).status, url).toBe("12");
      const grpcWeb = await grpcWebCall(grpcFrame(new Uint8Array()), {}, url);
      expect(grpcWeb.status, url).toBe(200);
      expect(grpcWebStatus(grpcWeb).status, url).toBe("12");
    }
  });

  it("real clients of every protocol see unimplemented for a service the server does not have", async () => {
    for (const { name, transport } of transportMatrix(server.baseUrl)) {
      const error = await createClient(CartService, transport)
        .getCart({})
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(error?.code, name).toBe(Code.Unimplemented);
    }
  });

  const grpcurl = `${homedir()}/go/bin/grpcurl`;
  it.runIf(existsSync(grpcurl))("grpcurl (grpc-go) sees Unimplemented for an unknown service", async () => {
    const result = await promisify(execFile)(
      grpcurl,
      [
        "-plaintext",
        "-import-path",
        "proto",
        "-proto",
        "pos/cart/v1/cart_service.proto",
        "-d",
        "{}",
        `127.0.0.1:${server.port}`,
        "pos.cart.v1.CartService/GetCart",
      ],
      { cwd: new URL("../../..", import.meta.url).pathname },
    ).then(
      () => ({ stdout: "", stderr: "" }),
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(result.stdout + result.stderr).toMatch(/Code: Unimplemented/);
  });
});
