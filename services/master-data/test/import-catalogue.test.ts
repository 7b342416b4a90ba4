import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mongoUriForSuite } from "@pos/common/testing";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { connectMongoItemStore } from "../src/store/mongo-item-store.js";

// `pnpm import-catalogue` as a user runs it: a real process, a real file, a real MongoDB-wire server.
const run = promisify(execFile);
const command = fileURLToPath(new URL("../src/import-catalogue.ts", import.meta.url));
const uri = mongoUriForSuite("import-catalogue");
const dbName = `pos_import_${process.pid}`;

async function importFile(lines: string[], env: Record<string, string | undefined>) {
  const dir = await mkdtemp(join(tmpdir(), "catalogue-"));
  const file = join(dir, "catalogue.ndjson");
  await writeFile(file, lines.join("\n"));
  return importPath(file, env);
}

function importPath(file: string, env: Record<string, string | undefined>) {
  return run(process.execPath, ["--import", "tsx", command, file], { env: { PATH: process.env.PATH, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

const item = (code: string, taxCode = "11") =>
  JSON.stringify({
    item: {
      tenantId: "T7",
      itemCode: code,
      description: `Item ${code}`,
      categoryCode: "FOOD",
      taxCode,
      unitPrice: { amount: "120", currencyCode: "JPY" },
    },
  });
const price = (code: string) =>
  JSON.stringify({
    storePrice: { tenantId: "T7", storeCode: "S1", itemCode: code, price: { amount: "99", currencyCode: "JPY" } },
  });

describe.runIf(uri !== undefined)("import-catalogue", () => {
  afterAll(async () => {
    if (uri === undefined) return;
    const client = await new MongoClient(uri).connect();
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  it("writes nothing when any record is bad, and says which", async () => {
    if (uri === undefined) throw new Error("MONGODB_URI is unset: run `pnpm test`, which starts FerretDB");
    const result = await importFile([item("A"), item("B", "99")], { MONGODB_URI: uri.replace(/\/?$/, `/${dbName}`) });
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/1 bad record\(s\).*nothing written/);
    expect(result.out).toMatch(/line 2: tax_code/);
    const store = await connectMongoItemStore(uri, { timeoutMs: 2000, dbName });
    expect(await store.hasTenant("T7")).toBe(false);
    await store.close();
  });

  it("imports items and store prices, skipping prices of unknown items", async () => {
    if (uri === undefined) throw new Error("MONGODB_URI is unset");
    const result = await importFile([item("A"), item("B"), price("A"), price("ZZ")], {
      MONGODB_URI: uri.replace(/\/?$/, `/${dbName}`),
    });
    expect(result.out).toContain("2 item(s), 1 store price(s) written, 1 store price(s) skipped");
    expect(result.code).toBe(0);
    const store = await connectMongoItemStore(uri, { timeoutMs: 2000, dbName });
    const [a] = await store.getItems("T7", "S1", ["A"]);
    expect(a?.price?.amount).toBe(99n);
    expect(await store.countItems("T7")).toBe(2);
    await store.close();
  });

  it("imports the README's example file", async () => {
    if (uri === undefined) throw new Error("MONGODB_URI is unset");
    const example = fileURLToPath(new URL("../examples/catalogue.ndjson", import.meta.url));
    const result = await importPath(example, { MONGODB_URI: uri.replace(/\/?$/, `/${dbName}`) });
    expect(result.out).toContain("1 item(s), 1 store price(s) written");
    expect(result.code).toBe(0);
    const store = await connectMongoItemStore(uri, { timeoutMs: 2000, dbName });
    const [tea] = await store.getItems("T0001", "S0001", ["4901234567894"]);
    expect([tea?.description, tea?.unitPrice?.amount, tea?.price?.amount]).toEqual(["Green tea", 150n, 128n]);
    await store.close();
  });

  it("refuses to run without MONGODB_URI", async () => {
    const result = await importFile([item("A")], {});
    expect(result.code).toBe(2);
    expect(result.out).toMatch(/MONGODB_URI is unset/);
  });
});
