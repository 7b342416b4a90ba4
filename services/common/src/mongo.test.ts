import { MongoNetworkError, MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import { dbNameFromUri, isDuplicateKey, retryOnDuplicateKey, toStoreError } from "./mongo.js";
import { StoreUnavailableError } from "./store-errors.js";

describe("MongoDB plumbing shared by the stores", () => {
  it("takes the database name from the URI path, else the fallback", () => {
    expect(dbNameFromUri("mongodb://127.0.0.1:27018/", "fallback")).toBe("fallback");
    expect(dbNameFromUri("mongodb://127.0.0.1:27018", "fallback")).toBe("fallback");
    expect(dbNameFromUri("mongodb://u:p@h1:1,h2:2/shop?replicaSet=rs", "fallback")).toBe("shop");
    expect(dbNameFromUri("mongodb+srv://cluster.example/pos%5Fx?retryWrites=true", "fallback")).toBe("pos_x");
  });

  it("maps network errors to StoreUnavailableError and leaves others alone", () => {
    const mapped = toStoreError(new MongoNetworkError("connect ECONNREFUSED 127.0.0.1:1\nmore"));
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect((mapped as Error).message).toBe("MongoDB unavailable: connect ECONNREFUSED 127.0.0.1:1");
    const other = new Error("a bug");
    expect(toStoreError(other)).toBe(other);
  });

  it("retries a write once after a duplicate key, and only then", async () => {
    const dup = new MongoServerError({ message: "E11000 duplicate key", code: 11000 });
    expect(isDuplicateKey(dup)).toBe(true);
    let calls = 0;
    await expect(retryOnDuplicateKey(async () => (++calls === 1 ? Promise.reject(dup) : "ok"))).resolves.toBe("ok");
    expect(calls).toBe(2);
    await expect(retryOnDuplicateKey(async () => Promise.reject(new Error("other")))).rejects.toThrow("other");
  });
});
