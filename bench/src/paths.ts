import path from "node:path";
import { fileURLToPath } from "node:url";

// Where the bench finds the programs it starts and puts what it writes.

const here = path.dirname(fileURLToPath(import.meta.url));
export const benchDir = path.resolve(here, "..");
export const repoRoot = path.resolve(benchDir, "..");
export const cacheDir = path.join(benchDir, ".cache");
export const resultsDir = path.join(benchDir, "results");

export const entries = {
  // The built services (bench/run.sh builds them first), as start.sh runs them.
  masterData: path.join(repoRoot, "services/master-data/dist/main.js"),
  cart: path.join(repoRoot, "services/cart/dist/main.js"),
  grpcJs: path.join(here, "serve-grpc-js.ts"),
  fastifyJson: path.join(here, "serve-fastify-json.ts"),
  floor: path.join(here, "serve-floor.ts"),
  client: path.join(here, "load-client.ts"),
};
