import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { GetItemDetailRequestSchema } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import {
  distinctItemCodes,
  encodeGetItemBody,
  getItemRequest,
  lengthPrefixed,
  parseFrames,
  randomItemCode,
  seededRandom,
} from "./requests.js";

describe("request bodies built from the schema", () => {
  const req = getItemRequest("ITEM0042");

  it("gRPC and gRPC-Web frames carry the protobuf message behind a 5-byte prefix", () => {
    for (const encoding of ["grpc", "grpc-web"] as const) {
      const body = encodeGetItemBody(req, encoding);
      const frames = parseFrames(body);
      expect(frames).toHaveLength(1);
      expect(frames[0]?.flags).toBe(0);
      expect(fromBinary(GetItemDetailRequestSchema, frames[0]!.data)).toEqual(req);
      expect(body.length).toBe(5 + frames[0]!.data.length);
    }
  });

  it("Connect bodies round-trip as binary and JSON", () => {
    expect(fromBinary(GetItemDetailRequestSchema, encodeGetItemBody(req, "connect-proto"))).toEqual(req);
    expect(
      fromJsonString(GetItemDetailRequestSchema, new TextDecoder().decode(encodeGetItemBody(req, "connect-json"))),
    ).toEqual(req);
  });

  it("writes the length big-endian and splits several frames", () => {
    const big = lengthPrefixed(new Uint8Array(300).fill(7), 0x80);
    expect([...big.subarray(0, 5)]).toEqual([0x80, 0, 0, 1, 44]);
    const two = new Uint8Array([...lengthPrefixed(new Uint8Array([1, 2])), ...big]);
    expect(parseFrames(two).map((f) => [f.flags, f.data.length])).toEqual([
      [0, 2],
      [0x80, 300],
    ]);
  });

  it("refuses a truncated frame", () => {
    expect(() => parseFrames(lengthPrefixed(new Uint8Array(10)).subarray(0, 12))).toThrow(/10 bytes/);
    expect(() => parseFrames(new Uint8Array([0, 0]))).toThrow(/truncated/);
  });
});

describe("seeded item codes", () => {
  it("are the same sequence for the same seed, and demo codes", () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    const codes = Array.from({ length: 50 }, () => randomItemCode(a));
    expect(Array.from({ length: 50 }, () => randomItemCode(b))).toEqual(codes);
    for (const c of codes) expect(c).toMatch(/^ITEM\d{4}$/);
  });

  it("gives distinct codes for a batch", () => {
    expect(new Set(distinctItemCodes(seededRandom(1), 20)).size).toBe(20);
  });
});
