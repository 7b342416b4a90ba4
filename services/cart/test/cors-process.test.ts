import { fileURLToPath } from "node:url";
import { type ServiceProcess, spawnService } from "@pos/common/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The real cart process reads CORS_ALLOWED_ORIGINS / CORS_MAX_AGE_SECONDS and answers a browser's preflight.
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const terminal = "http://127.0.0.1:8004";

describe("cart process CORS", () => {
  let cart: ServiceProcess;
  let baseUrl: string;
  beforeAll(async () => {
    cart = spawnService(main, {
      CART_PORT: "0",
      CORS_ALLOWED_ORIGINS: `${terminal},http://localhost:8004`,
      CORS_MAX_AGE_SECONDS: "120",
    });
    baseUrl = `http://127.0.0.1:${await cart.port()}`;
  }, 30_000);
  afterAll(() => cart.stop("SIGKILL"));

  const preflight = (origin: string) =>
    fetch(`${baseUrl}/pos.cart.v1.CartService/CreateCart`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent,x-api-key",
      },
    });

  it("answers the terminal's preflight for CreateCart", async () => {
    const res = await preflight(terminal);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(terminal);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/x-grpc-web.*x-api-key/i);
    expect(res.headers.get("access-control-max-age")).toBe("120");
  });

  it("refuses an origin that is not listed", async () => {
    const res = await preflight("http://127.0.0.1:9999");
    expect(res.ok).toBe(false);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("stops at start-up on an entry that is not an origin", async () => {
    const bad = spawnService(main, { CART_PORT: "0", CORS_ALLOWED_ORIGINS: "127.0.0.1:8004" });
    expect(await bad.exited).not.toBe(0);
    expect(bad.output()).toContain('CORS_ALLOWED_ORIGINS: "127.0.0.1:8004" is not an origin');
  });
});
