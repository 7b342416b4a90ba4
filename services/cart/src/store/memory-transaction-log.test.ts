import { createMemoryTransactionLog } from "./memory-transaction-log.js";
import { runTransactionLogContract } from "./transaction-log.contract.js";

runTransactionLogContract("memory", async () => createMemoryTransactionLog());
