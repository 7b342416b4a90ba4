import { readFile } from "node:fs/promises";
import { ConfigError } from "@pos/common";
import { parseCatalogue } from "./catalogue-file.js";
import { readMasterDataConfig } from "./config.js";
import { openItemStore } from "./open-store.js";

// `pnpm import-catalogue <file.json|file.ndjson>`: loads a real catalogue into MONGODB_URI.
// All or nothing at the validation step: one bad record and nothing is written.
async function main(args: string[]): Promise<number> {
  const [path] = args;
  if (path === undefined || args.length !== 1) {
    console.error("usage: pnpm import-catalogue <catalogue.json | catalogue.ndjson>");
    return 2;
  }
  const config = readMasterDataConfig(process.env);
  if (config.mongodbUri === undefined) {
    console.error(
      "import-catalogue: MONGODB_URI is unset; the embedded store lives inside the server process, so import into MongoDB (or use the UpsertItem RPC).",
    );
    return 2;
  }
  const parsed = parseCatalogue(await readFile(path, "utf8"));
  if (parsed.errors.length > 0) {
    console.error(`import-catalogue: ${parsed.errors.length} bad record(s) in ${path}, nothing written:`);
    for (const line of parsed.errors.slice(0, 50)) console.error(`  ${line}`);
    if (parsed.errors.length > 50) console.error(`  … and ${parsed.errors.length - 50} more`);
    return 1;
  }
  const { store } = await openItemStore(config);
  try {
    const counts = await store.importRecords(parsed.items, parsed.storePrices);
    console.log(
      `import-catalogue: ${counts.items} item(s), ${counts.storePrices} store price(s) written` +
        (counts.skippedStorePrices > 0
          ? `, ${counts.skippedStorePrices} store price(s) skipped (item unknown or deleted)`
          : ""),
    );
    return 0;
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`import-catalogue: ${e instanceof ConfigError || e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
