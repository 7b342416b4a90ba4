import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Role } from "./principal.js";

/** What a key store keeps of one terminal API key: never the key itself, only its HMAC. */
export interface ApiKeyRecord {
  /** Public part of the key (`pos_<id>_<secret>`): finds the record, appears in logs and lists. */
  id: string;
  /** Hex HMAC-SHA256 of the whole key under the server secret. */
  hash: string;
  tenant: string;
  store: string;
  terminal: string;
  roles: readonly Role[];
  label: string;
  createdAt: string;
  /** Set once revoked: the key is refused from then on (stores re-read within seconds). */
  revokedAt?: string | undefined;
}

// pos_<12 hex id>_<43 base64url chars of 32 random bytes>: the id is public, the rest is the secret.
const keyPattern = /^pos_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function apiKeyId(key: string): string | undefined {
  return keyPattern.exec(key)?.[1];
}

/**
 * HMAC-SHA256 under a server secret rather than a slow KDF: keys are 256-bit random, so there is
 * nothing to brute-force, and a terminal sends its key on every call (a KDF would cost milliseconds
 * per request). A stolen key table is useless without the secret.
 */
export function hashApiKey(secret: Buffer, key: string): string {
  return createHmac("sha256", secret).update(key).digest("hex");
}

export function apiKeyMatches(secret: Buffer, key: string, record: Pick<ApiKeyRecord, "hash">): boolean {
  const given = Buffer.from(hashApiKey(secret, key), "hex");
  const stored = Buffer.from(record.hash, "hex");
  return stored.length === given.length && timingSafeEqual(given, stored);
}

/** A fresh key and the record to store for it; the key is shown once and kept nowhere. */
export function newApiKey(
  secret: Buffer,
  binding: Pick<ApiKeyRecord, "tenant" | "store" | "terminal" | "roles"> & { label?: string },
  now = new Date(),
): { key: string; record: ApiKeyRecord } {
  const id = randomBytes(6).toString("hex");
  const key = `pos_${id}_${randomBytes(32).toString("base64url")}`;
  return {
    key,
    record: {
      id,
      hash: hashApiKey(secret, key),
      tenant: binding.tenant,
      store: binding.store,
      terminal: binding.terminal,
      roles: binding.roles,
      label: binding.label ?? "",
      createdAt: now.toISOString(),
    },
  };
}

/** Where API keys live (file for the embedded default, MongoDB when configured); one contract suite. */
export interface ApiKeyStore {
  /** The record of this id as of at most a few seconds ago (revocations reach every process that fast). */
  find(id: string): Promise<ApiKeyRecord | undefined>;
  add(record: ApiKeyRecord): Promise<void>;
  /** Every record, revoked ones included, optionally of one tenant; oldest first. */
  list(tenant?: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; false when no such key. Revoking twice keeps the first time. */
  revoke(id: string, at?: Date): Promise<boolean>;
  close(): Promise<void>;
}
