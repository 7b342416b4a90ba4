import { create } from "@bufbuild/protobuf";
import { createContextValues, type Interceptor } from "@connectrpc/connect";
import {
  type GetItemDetailRequest,
  GetItemDetailRequestSchema,
  GetItemDetailResponseSchema,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import { type CallInit, NodeRequestHeaders, runUnaryCall, type UnarySpec } from "./unary-call.js";

// The request headers the fast path hands to interceptors and handlers: Fetch Headers, read from
// Node's header object without copying it until something iterates or changes them.
describe("NodeRequestHeaders", () => {
  const raw = () => ({
    ":path": "/pos.masterdata.v1.ItemService/GetItemDetail",
    ":method": "POST",
    "content-type": "application/proto",
    "x-api-key": "k1",
    "set-cookie": ["a=1", "b=2"],
    absent: undefined,
  });

  it("answers get() and has() as Headers would, pseudo-headers left out", () => {
    const h = new NodeRequestHeaders(raw());
    const copy = new Headers([
      ["content-type", "application/proto"],
      ["x-api-key", "k1"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    for (const name of ["content-type", "Content-Type", "x-api-key", "set-cookie", "absent", "missing"]) {
      expect(h.get(name), name).toBe(copy.get(name));
      expect(h.has(name), name).toBe(copy.has(name));
    }
    expect(() => h.get(":path")).toThrow(TypeError);
  });

  it("iterates, copies and changes like Headers (filled on first use)", () => {
    const h = new NodeRequestHeaders(raw());
    expect([...h]).toEqual([
      ["content-type", "application/proto"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-api-key", "k1"],
    ]);
    expect([...new Headers(new NodeRequestHeaders(raw())).keys()]).toEqual([
      "content-type",
      "set-cookie",
      "set-cookie",
      "x-api-key",
    ]);
    h.set("x-api-key", "k2");
    h.append("x-extra", "1");
    h.delete("content-type");
    expect(h.get("x-api-key")).toBe("k2");
    expect(h.get("x-extra")).toBe("1");
    expect(h.has("content-type")).toBe(false);
    expect(h.getSetCookie()).toEqual(["a=1", "b=2"]);
    const changed = new NodeRequestHeaders(raw());
    changed.set("content-type", "application/json");
    expect(changed.get("content-type")).toBe("application/json");
    expect(changed.get("x-api-key")).toBe("k1");
    expect(changed instanceof Headers).toBe(true);
  });
});

describe("runUnaryCall", () => {
  const method = ItemService.method.getItemDetail;
  const init = (): CallInit => ({
    protocolName: "connect",
    requestMethod: "POST",
    rawHeaders: { "x-api-key": "k1", ":path": "/x" },
    url: () => "http://127.0.0.1/pos.masterdata.v1.ItemService/GetItemDetail",
    timeoutMs: undefined,
    contextValues: createContextValues(),
    onClientGone: () => {},
  });
  const seen: string[] = [];
  const spec: UnarySpec = {
    kind: "unary",
    method,
    impl: async (req, context) => {
      seen.push(`${context.requestHeader.get("x-api-key")} ${context.url} ${context.signal.aborted}`);
      context.responseHeader.set("x-seen", "1");
      const { itemCode } = req as GetItemDetailRequest;
      return create(GetItemDetailResponseSchema, { item: { itemCode } });
    },
  };
  const input = create(GetItemDetailRequestSchema, { itemCode: "A1" });

  it("gives the handler the request's headers, url and signal, and ends with the signal aborted", async () => {
    seen.length = 0;
    const { state, output } = runUnaryCall(spec, init(), input, []);
    expect(await output).toMatchObject({ item: { itemCode: "A1" } });
    expect(seen).toEqual(["k1 http://127.0.0.1/pos.masterdata.v1.ItemService/GetItemDetail false"]);
    expect(state.responseHeader?.get("x-seen")).toBe("1");
    state.finish();
  });

  it("still gives them when an interceptor passes on a copy of the request", async () => {
    seen.length = 0;
    const copying: Interceptor = (next) => async (req) => {
      expect(req.header.get("x-api-key")).toBe("k1");
      if (req.stream) return next(req);
      return next({ ...req, message: create(GetItemDetailRequestSchema, { itemCode: "B2" }) });
    };
    const { output } = runUnaryCall(spec, init(), input, [copying]);
    expect(await output).toMatchObject({ item: { itemCode: "B2" } });
    expect(seen).toEqual(["k1 http://127.0.0.1/pos.masterdata.v1.ItemService/GetItemDetail false"]);
  });
});
