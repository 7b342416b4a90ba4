// The public surface of @pos/master-data. Fixtures and harnesses for other packages' tests are in
// "@pos/master-data/testing".
export { createMasterDataApp } from "./app.js";
export { type ParsedCatalogue, parseCatalogue } from "./catalogue-file.js";
export { type MasterDataConfig, readMasterDataConfig } from "./config.js";
export { demo, demoCatalogue, demoItemCode, seededRandom } from "./demo-catalogue.js";
export { createItemService } from "./item-service.js";
export { openItemStore, seedDemoCatalogue } from "./open-store.js";
export {
  type ImportCounts,
  type ItemStore,
  type ListQuery,
  StoreTimeoutError,
  StoreUnavailableError,
} from "./store/item-store.js";
export { createMemoryItemStore } from "./store/memory-item-store.js";
export { connectMongoItemStore, createMongoItemStore } from "./store/mongo-item-store.js";
export { listTaxes, taxCodes } from "./tax-master.js";
