import { readFileSync, statSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/** Where the public keys that sign bearer tokens are: a JWKS file (re-read on change) or URL (jose's cache). */
export type JwksSource = { file: string } | { url: string };

/**
 * The key-lookup function jose's jwtVerify takes, picking the key by the token's `kid`, so keys
 * rotate by adding the new one to the set before signing with it. A file is checked for changes at
 * most every `checkEveryMs` and read again when it changed; a URL is fetched by jose, again when a
 * token names an unknown kid (at most every 30 s) and at least every 10 minutes.
 */
export function createJwksKeys(source: JwksSource, options: { checkEveryMs?: number } = {}): JWTVerifyGetKey {
  if ("url" in source) {
    return createRemoteJWKSet(new URL(source.url), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  }
  const checkEveryMs = options.checkEveryMs ?? 1000;
  const path = source.file;
  let seen = "";
  let checkedAt = 0;
  let keys: JWTVerifyGetKey = readJwksFile(path);
  seen = versionOf(path);
  return (header, token) => {
    const now = Date.now();
    if (now - checkedAt >= checkEveryMs) {
      checkedAt = now;
      const version = versionOf(path);
      if (version !== seen) {
        // A half-written or broken file keeps the keys we have (and is read again on the next check).
        try {
          keys = readJwksFile(path);
          seen = version;
        } catch {}
      }
    }
    return keys(header, token);
  };
}

function versionOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return "missing";
  }
}

/** The file's keys, or an error naming the file (start-up reports it as a config problem). */
export function readJwksFile(path: string): JWTVerifyGetKey {
  let set: unknown;
  try {
    set = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`cannot read JWKS file ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray((set as { keys?: unknown } | null)?.keys)) throw new Error(`JWKS file ${path} has no "keys" list`);
  return createLocalJWKSet(set as JSONWebKeySet);
}
