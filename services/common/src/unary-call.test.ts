import { describe, expect, it } from "vitest";
import { NodeRequestHeaders } from "./unary-call.js";

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
