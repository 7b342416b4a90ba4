import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  type BatchGetItemDetailsRequest,
  BatchGetItemDetailsRequestSchema,
  type GetItemDetailRequest,
  GetItemDetailRequestSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { demo, demoItemCode, seededRandom } from "@pos/master-data";

export { demo, seededRandom };

export function randomItemCode(random: () => number): string {
  return demoItemCode(Math.floor(random() * demo.itemCount));
}

/** `n` different item codes (the server de-duplicates, so repeats would shrink the answer). */
export function distinctItemCodes(random: () => number, n: number): string[] {
  const codes = new Set<string>();
  while (codes.size < n) codes.add(randomItemCode(random));
  return [...codes];
}

export function getItemRequest(itemCode: string): GetItemDetailRequest {
  return create(GetItemDetailRequestSchema, {
    tenantId: demo.tenantId,
    storeCode: demo.storeCode,
    itemCode,
    terminalId: "BENCH01",
  });
}

export function batchRequest(itemCodes: string[]): BatchGetItemDetailsRequest {
  return create(BatchGetItemDetailsRequestSchema, {
    tenantId: demo.tenantId,
    storeCode: demo.storeCode,
    itemCodes,
    terminalId: "BENCH01",
  });
}

/**
 * A length-prefixed message as gRPC and gRPC-Web put it on the wire: one flag byte
 * (0 = uncompressed message, 0x80 = gRPC-Web trailers), a 4-byte big-endian length, the bytes.
 */
export function lengthPrefixed(message: Uint8Array, flags = 0): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  frame[0] = flags;
  new DataView(frame.buffer).setUint32(1, message.length, false);
  frame.set(message, 5);
  return frame;
}

export interface Frame {
  flags: number;
  data: Uint8Array;
}

/** Splits a body into its length-prefixed frames; throws on a truncated frame. */
export function parseFrames(body: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) throw new Error(`truncated frame header at byte ${at}`);
    const flags = body[at] ?? 0;
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0, false);
    if (at + 5 + length > body.length)
      throw new Error(`frame at byte ${at} says ${length} bytes, only ${body.length - at - 5} left`);
    frames.push({ flags, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}

/** Request bodies for the external load generators, built from the schema (never pasted). */
export type BodyEncoding = "connect-json" | "connect-proto" | "grpc" | "grpc-web";

export function encodeGetItemBody(req: GetItemDetailRequest, encoding: BodyEncoding): Uint8Array {
  switch (encoding) {
    case "connect-json":
      return new TextEncoder().encode(toJsonString(GetItemDetailRequestSchema, req));
    case "connect-proto":
      return toBinary(GetItemDetailRequestSchema, req);
    case "grpc":
    case "grpc-web":
      return lengthPrefixed(toBinary(GetItemDetailRequestSchema, req));
  }
}

/** Content type and extra headers each encoding needs on a POST to a Connect/gRPC path. */
export function headersFor(encoding: BodyEncoding): Record<string, string> {
  switch (encoding) {
    case "connect-json":
      return { "content-type": "application/json" };
    case "connect-proto":
      return { "content-type": "application/proto" };
    case "grpc":
      return { "content-type": "application/grpc", te: "trailers" };
    case "grpc-web":
      return { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
  }
}

export const getItemPath = "/pos.masterdata.v1.ItemService/GetItemDetail";
export const batchGetPath = "/pos.masterdata.v1.ItemService/BatchGetItemDetails";
