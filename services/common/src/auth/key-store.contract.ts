import { expect, it } from "vitest";
import { type ApiKeyRecord, type ApiKeyStore, apiKeyMatches, newApiKey } from "./api-key.js";

const secret = Buffer.from("contract-suite-secret-0123456789abcdef", "utf8");

/**
 * What every API key store must do, run against each implementation (file, MongoDB). `open` gives
 * a store on shared state; calling it twice gives two stores on the same keys, as two processes
 * would have: a revocation through one must reach the other within its refresh time.
 */
export function keyStoreContract(open: () => Promise<ApiKeyStore>, refreshMs: number): void {
  let n = 0;
  const fresh = (over: Partial<Pick<ApiKeyRecord, "tenant" | "store" | "terminal">> = {}) =>
    newApiKey(
      secret,
      {
        tenant: over.tenant ?? `T${++n}`,
        store: over.store ?? "S0001",
        terminal: over.terminal ?? "R01",
        roles: ["terminal"],
      },
      new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    );

  it("keeps only the hash: finds a record by id, and the key (and only it) matches it", async () => {
    const store = await open();
    const { key, record } = fresh();
    await store.add(record);
    const found = await store.find(record.id);
    expect(found).toEqual(record);
    if (found === undefined) return;
    expect(JSON.stringify(found)).not.toContain(key.slice(17));
    expect(apiKeyMatches(secret, key, found)).toBe(true);
    expect(apiKeyMatches(secret, `${key.slice(0, -1)}x`, found)).toBe(false);
    expect(apiKeyMatches(Buffer.from("another-secret-another-secret-xx"), key, found)).toBe(false);
    await store.close();
  });

  it("answers undefined for an unknown id, and refuses a second record with the same id", async () => {
    const store = await open();
    expect(await store.find("0123456789ab")).toBeUndefined();
    const { record } = fresh();
    await store.add(record);
    await expect(store.add({ ...record, tenant: "OTHER" })).rejects.toThrow(/already exists/);
    expect((await store.find(record.id))?.tenant).toBe(record.tenant);
    await store.close();
  });

  it("lists every key, or one tenant's, oldest first, revoked ones included", async () => {
    const store = await open();
    const a = fresh({ tenant: "LIST1" });
    const b = fresh({ tenant: "LIST2" });
    const c = fresh({ tenant: "LIST1", terminal: "R02" });
    for (const k of [a, b, c]) await store.add(k.record);
    await store.revoke(c.record.id);
    const ids = (await store.list("LIST1")).map((r) => r.id);
    expect(ids).toEqual([a.record.id, c.record.id]);
    const all = (await store.list()).map((r) => r.id);
    expect(all).toEqual(expect.arrayContaining([a.record.id, b.record.id, c.record.id]));
    expect(all.indexOf(a.record.id)).toBeLessThan(all.indexOf(b.record.id));
    await store.close();
  });

  it("revokes once (the first time is kept), says false for an unknown key", async () => {
    const store = await open();
    const { record } = fresh();
    await store.add(record);
    expect(await store.revoke(record.id, new Date("2026-02-01T00:00:00.000Z"))).toBe(true);
    expect(await store.revoke(record.id, new Date("2026-03-01T00:00:00.000Z"))).toBe(true);
    expect((await store.list(record.tenant))[0]?.revokedAt).toBe("2026-02-01T00:00:00.000Z");
    expect(await store.revoke("ffffffffffff")).toBe(false);
    await store.close();
  });

  it("a key revoked through one store is refused by another (another process) within its refresh time", async () => {
    const writer = await open();
    const reader = await open();
    const { record } = fresh();
    await writer.add(record);
    // The reader has seen the key active (and cached it, where it caches).
    const deadlineSeen = Date.now() + 10_000;
    while ((await reader.find(record.id)) === undefined) {
      if (Date.now() > deadlineSeen) throw new Error("the reader never saw the new key");
      await new Promise((r) => setTimeout(r, 20));
    }
    await writer.revoke(record.id);
    const deadline = Date.now() + Math.max(10_000, refreshMs * 20);
    while ((await reader.find(record.id))?.revokedAt === undefined) {
      if (Date.now() > deadline) throw new Error("the revocation never reached the other store");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await reader.find(record.id))?.revokedAt).toEqual(expect.any(String));
    await writer.close();
    await reader.close();
  });
}
