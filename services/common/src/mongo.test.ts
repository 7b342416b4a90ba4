import {
  type BulkWriteResult,
  MongoBulkWriteError,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
} from "mongodb";
import { describe, expect, it } from "vitest";
import { dbNameFromUri, isDuplicateKey, retryOnDuplicateKey, toStoreError } from "./mongo.js";
import { StoreTimeoutError, StoreUnavailableError } from "./store-errors.js";

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

  it("sees through a bulk write that failed because the connection did", () => {
    // The driver builds these itself; the result is only carried along, so the test leaves it out.
    const noResult = undefined as unknown as BulkWriteResult;
    const network = new MongoNetworkError("connection 3 to 127.0.0.1:27018 closed");
    const bulk = new MongoBulkWriteError(network, noResult);
    expect(toStoreError(bulk)).toBeInstanceOf(StoreUnavailableError);
    const timeout = new MongoBulkWriteError(new MongoOperationTimeoutError("Timed out during bulk write"), noResult);
    expect(toStoreError(timeout)).toBeInstanceOf(StoreTimeoutError);
    // A write error (e.g. a duplicate key) is the caller's business, not an outage.
    const dup = new MongoBulkWriteError({ message: "E11000 duplicate key", code: 11000 }, noResult);
    expect(toStoreError(dup)).toBe(dup);
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
