import { describe } from "vitest";
import { freshMongoDatabase, mongoUriForSuite } from "../testing/mongo-suite.js";
import { keyStoreContract } from "./key-store.contract.js";
import { connectMongoKeyStore } from "./mongo-key-store.js";

describe("MongoDB key store", () => {
  const uri = mongoUriForSuite("MongoDB key store");
  if (uri === undefined) return;
  const db = freshMongoDatabase(uri, "pos_auth_test", 5000);
  // Each open is its own client, as each service process has: the cache is what a revocation waits out.
  keyStoreContract(() => connectMongoKeyStore(uri, { database: db.name, timeoutMs: 5000, cacheTtlMs: 200 }), 200);
});
