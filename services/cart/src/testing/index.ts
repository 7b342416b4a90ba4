// "@pos/cart/testing": cart as other packages' tests need it.
import { fileURLToPath } from "node:url";

/** The file to run (node --import tsx) for the real cart process. */
export const cartMain = fileURLToPath(new URL("../main.ts", import.meta.url));

export { type LocalRedisCluster, type LocalRedisServer, startRedisCluster, startRedisServer } from "./redis-cluster.js";
