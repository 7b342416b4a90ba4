import type { MasterDataConfig } from "./config.js";
import { demo, demoCatalogue } from "./demo-catalogue.js";
import type { ImportCounts, ItemStore } from "./store/item-store.js";
import { createMemoryItemStore } from "./store/memory-item-store.js";
import { connectMongoItemStore } from "./store/mongo-item-store.js";

/** MongoDB when MONGODB_URI is set, else the embedded in-memory store. */
export async function openItemStore(
  config: Pick<MasterDataConfig, "mongodbUri" | "mongodbTimeoutMs">,
): Promise<{ store: ItemStore; kind: string; close(): Promise<void> }> {
  const store =
    config.mongodbUri === undefined
      ? createMemoryItemStore()
      : await connectMongoItemStore(config.mongodbUri, { timeoutMs: config.mongodbTimeoutMs });
  return { store, kind: config.mongodbUri === undefined ? "memory" : "mongodb", close: () => store.close() };
}

/**
 * Loads the demo catalogue unless its tenant ever existed: a catalogue that was
 * emptied on purpose stays empty, and a restart does not rewrite anything.
 */
export async function seedDemoCatalogue(store: ItemStore): Promise<ImportCounts | undefined> {
  if (await store.hasTenant(demo.tenantId)) return undefined;
  const { items, storePrices } = demoCatalogue();
  return store.importRecords(items, storePrices);
}
