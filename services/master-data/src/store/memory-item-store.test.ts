import { runItemStoreContract } from "./item-store.contract.js";
import { createMemoryItemStore } from "./memory-item-store.js";

runItemStoreContract("memory", async () => createMemoryItemStore());
