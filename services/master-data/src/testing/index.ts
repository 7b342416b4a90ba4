// "@pos/master-data/testing": master-data as other packages' tests need it.
import { fileURLToPath } from "node:url";

export { type NamedTransport, type RunningMasterData, startMasterData, transportMatrix } from "./harness.js";
export {
  createFaultyItemStore,
  createInMemoryMasterData,
  type FaultyItemStore,
  type InMemoryMasterData,
} from "./in-memory.js";

/** The file to run (node --import tsx) for the real master-data process. */
export const masterDataMain = fileURLToPath(new URL("../main.ts", import.meta.url));
