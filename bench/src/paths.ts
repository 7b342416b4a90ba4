import path from "node:path";
import { fileURLToPath } from "node:url";

// Where the bench finds the programs it starts and puts what it writes.

const here = path.dirname(fileURLToPath(import.meta.url));
export const benchDir = path.resolve(here, "..");
export const repoRoot = path.resolve(benchDir, "..");
export const cacheDir = path.join(benchDir, ".cache");
export const resultsDir = path.join(benchDir, "results");

export const entries = {
  masterData: path.join(repoRoot, "services/master-data/src/main.ts"),
  cart: path.join(repoRoot, "services/cart/src/main.ts"),
  grpcJs: path.join(here, "serve-grpc-js.ts"),
  fastifyJson: path.join(here, "serve-fastify-json.ts"),
  client: path.join(here, "load-client.ts"),
};
