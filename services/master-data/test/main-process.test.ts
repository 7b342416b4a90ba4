import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type ServiceProcess, spawnService, testAuth } from "@pos/common/testing";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterEach, describe, expect, it } from "vitest";

// Every call as an admin of the tenant it names (this file's test credentials, which the spawned services trust).
const interceptors = [testAuth.clientInterceptor];

// The real entry point as a separate process: config errors, start-up, demo
// catalogue, serving, and a prompt, clean shutdown on SIGTERM.
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

const running: ServiceProcess[] = [];

function startMain(env: Record<string, string>): ServiceProcess {
  const p = spawnService(main, { MASTER_DATA_PORT: "0", ...env });
  running.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop("SIGKILL")));
});

describe("master-data process (src/main.ts)", () => {
  it("starts on the embedded defaults, serves the demo catalogue, stops cleanly on SIGTERM", async () => {
    const p = startMain({});
    await p.waitFor(/demo catalogue loaded/);
    const port = await p.port();
    await p.waitFor(/master-data serving ItemService on one port/);
    const client = createClient(
      ItemService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors }),
    );
    const { item } = await client.getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM9999" });
    expect(item?.itemCode).toBe("ITEM9999");
    const stoppedAt = performance.now();
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(5000);
    expect(p.output()).toMatch(/shutting down/);
  });

  it("refuses bad configuration with one message naming every bad variable", async () => {
    const p = startMain({ MASTER_DATA_PORT: "eighty", LOG_LEVEL: "loud", TLS_CERT_FILE: "/nope.pem" });
    expect(await p.exited).toBe(1);
    const out = p.output();
    expect(out).toContain('MASTER_DATA_PORT must be a whole number from 0 to 65535, got "eighty"');
    expect(out).toContain('LOG_LEVEL must be one of fatal | error | warn | info | debug | trace | silent, got "loud"');
    expect(out).toContain("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
    expect(out).not.toMatch(/\n\s+at /); // no stack trace for a config error
  });

  it("fails fast with a clear message when MongoDB cannot be reached", async () => {
    const p = startMain({ MONGODB_URI: "mongodb://127.0.0.1:1/pos_test", MONGODB_TIMEOUT_MS: "300" });
    const started = performance.now();
    expect(await p.exited).toBe(1);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(p.output()).toMatch(/MongoDB unavailable/);
  });
});
