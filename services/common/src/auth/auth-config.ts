import { readFileSync } from "node:fs";
import type { EnvReader } from "../env-config.js";
import type { JwksSource } from "./jwks.js";

/** How a service proves its callers (README: authentication). Nothing configured = every RPC but health is refused. */
export interface AuthSettings {
  /** Staff and back-office tokens (AUTH_JWKS_FILE or AUTH_JWKS_URL). */
  jwt: { keys: JwksSource; issuers: string[]; audience: string } | undefined;
  /** Service tokens, e.g. cart's at master-data (AUTH_SERVICE_JWKS_FILE). */
  serviceJwt: { keys: JwksSource; audience: string } | undefined;
  /** Terminal API keys (AUTH_API_KEY_SECRET_FILE, and AUTH_API_KEYS_FILE or MONGODB_URI). */
  apiKeys:
    | { store: { kind: "file"; file: string } | { kind: "mongo"; uri: string; database: string }; secret: Buffer }
    | undefined;
  /** How soon a revoked key is refused everywhere: file re-check / MongoDB cache lifetime. */
  keyRefreshMs: number;
  clockToleranceSeconds: number;
  /** The private key this service signs its own service tokens with (cart → master-data). */
  serviceKeyFile: string | undefined;
}

export function readAuthSettings(r: EnvReader, mongodbUri: string | undefined): AuthSettings {
  const audience = r.string("AUTH_JWT_AUDIENCE", "pos-connect");
  const issuers = r
    .string("AUTH_JWT_ISSUER", "pos-connect")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const jwksFile = r.optionalString("AUTH_JWKS_FILE");
  const jwksUrl = r.optionalString("AUTH_JWKS_URL");
  let jwtKeys: JwksSource | undefined;
  if (jwksFile !== undefined && jwksUrl !== undefined) r.problem("set AUTH_JWKS_FILE or AUTH_JWKS_URL, not both");
  else if (jwksFile !== undefined) jwtKeys = { file: jwksFile };
  else if (jwksUrl !== undefined) {
    if (/^https?:\/\//.test(jwksUrl)) jwtKeys = { url: jwksUrl };
    else r.problem(`AUTH_JWKS_URL must be an http:// or https:// URL, got "${jwksUrl}"`);
  }
  const serviceJwks = r.optionalString("AUTH_SERVICE_JWKS_FILE");
  const keysFile = r.optionalString("AUTH_API_KEYS_FILE");
  const secretFile = r.optionalString("AUTH_API_KEY_SECRET_FILE");
  const database = r.string("AUTH_KEYS_DATABASE", "pos_auth");
  let apiKeys: AuthSettings["apiKeys"];
  if (secretFile === undefined) {
    if (keysFile !== undefined)
      r.problem("AUTH_API_KEYS_FILE needs AUTH_API_KEY_SECRET_FILE (the HMAC secret of the keys)");
  } else {
    const secret = readSecret(r, secretFile);
    const store =
      keysFile !== undefined
        ? ({ kind: "file", file: keysFile } as const)
        : mongodbUri !== undefined
          ? ({ kind: "mongo", uri: mongodbUri, database } as const)
          : undefined;
    if (store === undefined)
      r.problem("AUTH_API_KEY_SECRET_FILE is set but there is no key store: set AUTH_API_KEYS_FILE or MONGODB_URI");
    if (store !== undefined && secret !== undefined) apiKeys = { store, secret };
  }
  for (const [name, file] of [
    ["AUTH_JWKS_FILE", jwksFile],
    ["AUTH_SERVICE_JWKS_FILE", serviceJwks],
  ] as const) {
    if (file !== undefined) checkReadable(r, name, file);
  }
  const serviceKeyFile = r.optionalString("AUTH_SERVICE_KEY_FILE");
  if (serviceKeyFile !== undefined) checkReadable(r, "AUTH_SERVICE_KEY_FILE", serviceKeyFile);
  return {
    jwt: jwtKeys === undefined ? undefined : { keys: jwtKeys, issuers, audience },
    serviceJwt: serviceJwks === undefined ? undefined : { keys: { file: serviceJwks }, audience },
    apiKeys,
    keyRefreshMs: r.int("AUTH_KEY_REFRESH_MS", 2000, 10, 600_000),
    clockToleranceSeconds: r.int("AUTH_CLOCK_TOLERANCE_SECONDS", 30, 0, 300),
    serviceKeyFile,
  };
}

function readSecret(r: EnvReader, file: string): Buffer | undefined {
  try {
    const secret = Buffer.from(readFileSync(file, "utf8").trim(), "utf8");
    if (secret.length >= 32) return secret;
    r.problem(`AUTH_API_KEY_SECRET_FILE ${file} must hold a secret of at least 32 characters`);
  } catch (e) {
    r.problem(`cannot read AUTH_API_KEY_SECRET_FILE: ${(e as Error).message}`);
  }
  return undefined;
}

function checkReadable(r: EnvReader, name: string, file: string): void {
  try {
    readFileSync(file);
  } catch (e) {
    r.problem(`cannot read ${name}: ${(e as Error).message}`);
  }
}
