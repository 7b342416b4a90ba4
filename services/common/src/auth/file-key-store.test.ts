import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createFileKeyStore } from "./file-key-store.js";
import { keyStoreContract } from "./key-store.contract.js";

describe("file key store", () => {
  const file = join(mkdtempSync(join(tmpdir(), "pos-keys-")), "api-keys.json");
  keyStoreContract(async () => createFileKeyStore(file, { checkEveryMs: 50 }), 50);

  it("names the file and the record when the file is not a key list", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "pos-keys-")), "bad.json");
    writeFileSync(bad, JSON.stringify({ keys: [{ id: "0123456789ab", hash: 5, roles: ["terminal"] }] }));
    await expect(createFileKeyStore(bad).find("0123456789ab")).rejects.toThrow(
      /bad\.json: keys\[0\]: hash must be a string/,
    );
    writeFileSync(bad, "{}");
    await expect(createFileKeyStore(bad).find("x")).rejects.toThrow(/has no "keys" list/);
  });

  it("an absent file is an empty store (the first `pnpm keys create` makes it)", async () => {
    const store = createFileKeyStore(join(mkdtempSync(join(tmpdir(), "pos-keys-")), "none.json"));
    expect(await store.find("0123456789ab")).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });
});
