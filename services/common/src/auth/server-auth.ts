import type { ApiKeyStore } from "./api-key.js";
import type { AuthSettings } from "./auth-config.js";
import { type Authenticator, createAuthenticator } from "./authenticator.js";
import { createFileKeyStore } from "./file-key-store.js";
import { createJwksKeys } from "./jwks.js";
import { connectMongoKeyStore } from "./mongo-key-store.js";
import { type PolicyTable, policyTable } from "./policy.js";

/** What createConnectApp needs to authenticate and authorize every call. */
export interface ServerAuth {
  authenticator: Authenticator;
  policy: PolicyTable;
  /** For the start-up log: which credentials are accepted. */
  describe: { apiKeys: string; jwt: string; serviceJwt: string };
  close(): Promise<void>;
}

/** Opens the key store (file or MongoDB) and the JWKS sources the settings name. */
export async function openServerAuth(
  settings: AuthSettings,
  options: { mongoTimeoutMs?: number; policy?: PolicyTable } = {},
): Promise<ServerAuth> {
  let store: ApiKeyStore | undefined;
  const keys = settings.apiKeys;
  if (keys !== undefined) {
    store =
      keys.store.kind === "file"
        ? createFileKeyStore(keys.store.file, { checkEveryMs: settings.keyRefreshMs })
        : await connectMongoKeyStore(keys.store.uri, {
            database: keys.store.database,
            timeoutMs: options.mongoTimeoutMs ?? 2000,
            cacheTtlMs: settings.keyRefreshMs,
          });
  }
  const { jwt, serviceJwt } = settings;
  const authenticator = createAuthenticator({
    jwt:
      jwt === undefined ? undefined : { keys: createJwksKeys(jwt.keys), issuers: jwt.issuers, audience: jwt.audience },
    serviceJwt:
      serviceJwt === undefined ? undefined : { keys: createJwksKeys(serviceJwt.keys), audience: serviceJwt.audience },
    apiKeys: store === undefined || keys === undefined ? undefined : { store, secret: keys.secret },
    clockToleranceSeconds: settings.clockToleranceSeconds,
  });
  const source = (s: { file: string } | { url: string }) => ("file" in s ? s.file : s.url);
  return {
    authenticator,
    policy: options.policy ?? policyTable,
    describe: {
      apiKeys:
        keys === undefined
          ? "off"
          : keys.store.kind === "file"
            ? `file ${keys.store.file}`
            : `mongodb (${keys.store.database})`,
      jwt:
        jwt === undefined ? "off" : `${source(jwt.keys)} (issuer ${jwt.issuers.join(", ")}, audience ${jwt.audience})`,
      serviceJwt: serviceJwt === undefined ? "off" : source(serviceJwt.keys),
    },
    close: async () => store?.close(),
  };
}
