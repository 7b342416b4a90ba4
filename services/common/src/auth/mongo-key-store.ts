import { LRUCache } from "lru-cache";
import type { Db } from "mongodb";
import { connectMongo, guarded, isDuplicateKey } from "../mongo.js";
import type { ApiKeyRecord, ApiKeyStore } from "./api-key.js";
import { checkRecord } from "./file-key-store.js";

interface KeyDocument extends Omit<ApiKeyRecord, "id"> {
  _id: string;
}

/**
 * API keys in MongoDB (`api_keys`, one document per key, `_id` = the key's public id). Lookups are
 * cached for `cacheTtlMs` (found and not found alike, so a flood of made-up keys does not reach the
 * database), which bounds how long a revocation takes to reach every process.
 */
export function createMongoKeyStore(db: Db, options: { cacheTtlMs?: number } = {}): Omit<ApiKeyStore, "close"> {
  const keys = db.collection<KeyDocument>("api_keys");
  const ttl = Math.max(1, options.cacheTtlMs ?? 2000);
  const cache = new LRUCache<string, { record: ApiKeyRecord | undefined }>({ max: 50_000, ttl });
  const inFlight = new Map<string, Promise<ApiKeyRecord | undefined>>();
  const toRecord = ({ _id, ...rest }: KeyDocument) => checkRecord({ id: _id, ...rest }, `api_keys ${_id}`);
  const read = async (id: string) => {
    const doc = await guarded(() => keys.findOne({ _id: id }));
    return doc === null ? undefined : toRecord(doc);
  };
  return {
    async find(id) {
      const hit = cache.get(id);
      if (hit !== undefined) return hit.record;
      // Concurrent calls with one key share one read.
      let pending = inFlight.get(id);
      if (pending === undefined) {
        pending = read(id).finally(() => inFlight.delete(id));
        inFlight.set(id, pending);
        pending.then(
          (record) => cache.set(id, { record }),
          () => undefined,
        );
      }
      return pending;
    },
    async add(record) {
      const { id, ...rest } = record;
      try {
        await guarded(() => keys.insertOne({ _id: id, ...rest, roles: [...rest.roles] }));
      } catch (e) {
        if (isDuplicateKey(e)) throw new Error(`API key ${id} already exists`);
        throw e;
      }
      cache.delete(id);
    },
    async list(tenant) {
      const docs = await guarded(() =>
        keys
          .find(tenant === undefined ? {} : { tenant })
          .sort({ createdAt: 1 })
          .toArray(),
      );
      return docs.map(toRecord);
    },
    async revoke(id, at = new Date()) {
      const found = await guarded(() => keys.findOne({ _id: id }));
      if (found === null) return false;
      await guarded(() =>
        keys.updateOne({ _id: id, revokedAt: { $exists: false } }, { $set: { revokedAt: at.toISOString() } }),
      );
      cache.delete(id);
      return true;
    },
  };
}

/** Connects to the MongoDB at `uri` and serves keys from `database` (shared by both services: `pos_auth`). */
export function connectMongoKeyStore(
  uri: string,
  options: { database: string; timeoutMs: number; cacheTtlMs?: number },
): Promise<ApiKeyStore> {
  return connectMongo(
    uri,
    { timeoutMs: options.timeoutMs, appName: "pos-auth", dbName: options.database, defaultDbName: options.database },
    async (db) => ({ ...createMongoKeyStore(db, options), close: async () => {} }),
  );
}
