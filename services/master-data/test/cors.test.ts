import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h1Request, h2Request, type RawResponse } from "./raw-http.js";

// CORS as a browser sees it, over real HTTP/1.1 and h2c sockets: preflights, then the call itself.
const allowed = "http://terminal.test:8004";
const refused = "http://evil.test";
const path = "/pos.masterdata.v1.ItemService/GetItemDetail";
const body = JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });

const connectPreflight = {
  "access-control-request-method": "POST",
  "access-control-request-headers": "connect-protocol-version,connect-timeout-ms,content-type,x-api-key",
};
const grpcWebPreflight = {
  "access-control-request-method": "POST",
  "access-control-request-headers": "authorization,content-type,grpc-timeout,x-grpc-web,x-request-id,x-user-agent",
};

function list(header: string | undefined): string[] {
  return (header ?? "").split(",").map((s) => s.trim().toLowerCase());
}

function expectPreflightAccepted(res: RawResponse, requested: string) {
  expect(res.status).toBe(204);
  expect(res.headers["access-control-allow-origin"]).toBe(allowed);
  expect(list(res.headers.vary)).toContain("origin");
  expect(list(res.headers["access-control-allow-methods"])).toEqual(expect.arrayContaining(["post", "get"]));
  expect(list(res.headers["access-control-allow-headers"])).toEqual(expect.arrayContaining(requested.split(",")));
  expect(res.headers["access-control-max-age"]).toBe("600");
  expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
}

describe("CORS with CORS_ALLOWED_ORIGINS set", () => {
  let md: RunningMasterData;
  beforeAll(async () => {
    md = await startMasterData({ cors: { allowedOrigins: [allowed, "https://other.test"], maxAgeSeconds: 600 } });
  });
  afterAll(() => md.close());

  it("answers a Connect preflight from an allowed origin, over HTTP/1.1 and HTTP/2", async () => {
    const headers = { origin: allowed, ...connectPreflight };
    expectPreflightAccepted(
      await h1Request(md.baseUrl, path, { method: "OPTIONS", headers }),
      connectPreflight["access-control-request-headers"],
    );
    expectPreflightAccepted(
      await h2Request(md.baseUrl, path, { headers: { ":method": "OPTIONS", ...headers } }),
      connectPreflight["access-control-request-headers"],
    );
  });

  it("answers a gRPC-Web preflight with auth and request-id headers", async () => {
    const res = await h1Request(md.baseUrl, path, {
      method: "OPTIONS",
      headers: { origin: allowed, ...grpcWebPreflight },
    });
    expectPreflightAccepted(res, grpcWebPreflight["access-control-request-headers"]);
  });

  it("lets the allowed origin read the answer and the gRPC-Web status headers", async () => {
    const res = await h1Request(md.baseUrl, path, {
      headers: { origin: allowed, "content-type": "application/json", "x-request-id": "cors-1" },
      body,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).item.itemCode).toBe("ITEM0001");
    expect(res.headers["access-control-allow-origin"]).toBe(allowed);
    expect(list(res.headers["access-control-expose-headers"])).toEqual(
      expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"]),
    );
    expect(res.headers["x-request-id"]).toBe("cors-1");
  });

  it("refuses a preflight from any other origin: no CORS headers, not a 2xx", async () => {
    for (const origin of [refused, "http://terminal.test:8005", "https://terminal.test:8004"]) {
      const res = await h1Request(md.baseUrl, path, { method: "OPTIONS", headers: { origin, ...connectPreflight } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      expect(res.headers["access-control-allow-headers"]).toBeUndefined();
    }
  });

  it("gives a refused origin's simple request no CORS headers, so the browser hides the answer", async () => {
    const get = `${path}?encoding=json&message=${encodeURIComponent(body)}`;
    const res = await h1Request(md.baseUrl, get, { method: "GET", headers: { origin: refused } });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    const ok = await h1Request(md.baseUrl, get, { method: "GET", headers: { origin: allowed } });
    expect(ok.headers["access-control-allow-origin"]).toBe(allowed);
  });

  it("leaves calls without an Origin (servers, curl) as they were", async () => {
    const res = await h1Request(md.baseUrl, path, { headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("CORS by default", () => {
  let md: RunningMasterData;
  beforeAll(async () => {
    md = await startMasterData();
  });
  afterAll(() => md.close());

  it("allows no origin at all", async () => {
    const res = await h1Request(md.baseUrl, path, {
      method: "OPTIONS",
      headers: { origin: allowed, ...connectPreflight },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("CORS_ALLOWED_ORIGINS=*", () => {
  let md: RunningMasterData;
  beforeAll(async () => {
    md = await startMasterData({ cors: { allowedOrigins: ["*"], maxAgeSeconds: 600 } });
  });
  afterAll(() => md.close());

  it("reflects any origin", async () => {
    const res = await h1Request(md.baseUrl, path, {
      method: "OPTIONS",
      headers: { origin: refused, ...connectPreflight },
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe(refused);
  });
});
