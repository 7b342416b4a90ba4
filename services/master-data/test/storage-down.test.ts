import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createHealth, type Health } from "@pos/common";
import { mongoUriForSuite } from "@pos/common/testing";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMongoItemStore } from "../src/store/mongo-item-store.js";
import { type RunningMasterData, startMasterData, transportMatrix } from "../src/testing/harness.js";

// The database goes away under a running server: every protocol answers
// `unavailable` quickly, with a short reason and no driver internals, and the
// server stays up.
const uri = mongoUriForSuite("master-data with its MongoDB gone");

describe.runIf(uri !== undefined)("master-data with its MongoDB gone", () => {
  let server: RunningMasterData;
  let health: Health;
  beforeAll(async () => {
    if (uri === undefined) throw new Error("MONGODB_URI is unset: run `pnpm test`, which starts FerretDB");
    const store = await connectMongoItemStore(uri, { timeoutMs: 500, dbName: `pos_down_${process.pid}` });
    health = createHealth({ probes: [{ name: "mongodb", ping: () => store.ping() }] });
    await health.refresh();
    expect(health.failing()).toEqual([]);
    server = await startMasterData({ store, health });
    await store.close(); // the database is now unreachable for this server
  });
  afterAll(() => server?.close());

  it("answers unavailable over every transport, fast, and keeps serving", async () => {
    for (const { name, transport } of transportMatrix(server.baseUrl)) {
      const started = performance.now();
      const err = await createClient(ItemService, transport)
        .getItemDetail({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(err?.code, name).toBe(Code.Unavailable);
      // The store and the code; the driver's text and the address are for the log.
      expect(err?.rawMessage, name).toBe("item store unavailable");
      expect(performance.now() - started, name).toBeLessThan(2000);
    }
    const live = await fetch(`${server.baseUrl}/healthz`);
    expect(live.status).toBe(200);
  });

  it("is not ready: /readyz 503 naming MongoDB once its probe has run", async () => {
    await health.refresh();
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "NOT_SERVING", failing: ["mongodb"] });
  });
});
