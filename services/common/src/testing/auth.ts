import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { type ApiKeyRecord, newApiKey } from "../auth/api-key.js";
import { type AuthSettings, readAuthSettings } from "../auth/auth-config.js";
import { createFileKeyStore } from "../auth/file-key-store.js";
import { openServices } from "../auth/policy.js";
import type { Role } from "../auth/principal.js";
import { openServerAuth, type ServerAuth } from "../auth/server-auth.js";
import { createBearerInterceptor, createTokenSigner, type TokenClaims } from "../auth/tokens.js";
import { createEnvReader } from "../env-config.js";

/**
 * Credentials for tests, made once per test file (module): a token issuer and a service key of its
 * own (fresh key pairs, JWKS files in a temporary directory), an API key file with its secret, and
 * the environment that points a spawned service at them. Harnesses hand `settings` to the apps they
 * build and put `clientInterceptor` on the transports they give tests, so a test calls as an
 * admin of whatever tenant its request names without knowing about credentials at all.
 */
export interface TestAuth {
  dir: string;
  /** AUTH_* variables for a spawned master-data or cart (spawnService adds them). */
  env: Record<string, string>;
  settings: AuthSettings;
  /** Opens what an in-process app's createConnectApp needs. */
  open(): Promise<ServerAuth>;
  /** Sends an admin token (every store) for the tenant the request names. */
  clientInterceptor: Interceptor;
  /** Sends a service token for the tenant the request names, as cart's master-data transport does. */
  serviceInterceptor: Interceptor;
  /** The test authenticator over a policy that opens every method of these services (plumbing tests). */
  openFor(...services: DescService[]): Promise<Pick<ServerAuth, "authenticator" | "policy">>;
  /** `authorization` header value of an admin of T0001 (every store): for curl, grpcurl and raw requests. */
  adminBearer: string;
  /** A staff/admin/terminal token with the given claims, signed by the test issuer. */
  token(claims: Partial<TokenClaims> & { tenant: string }, lifetimeSeconds?: number): Promise<string>;
  /** A token signed by the test service key (what cart sends master-data). */
  serviceToken(tenant: string, lifetimeSeconds?: number): Promise<string>;
  /** A fresh API key in the key file (roles default to terminal); the key itself is returned. */
  apiKey(binding: {
    tenant: string;
    store: string;
    terminal: string;
    roles?: Role[];
  }): Promise<{ key: string; record: ApiKeyRecord }>;
  revokeApiKey(id: string): Promise<void>;
  /** A terminal key of T0001 / S0001 / R01 (roles terminal and staff: it may discount and cancel too). */
  terminalKey: string;
  /** Where the service's private JWK is (AUTH_SERVICE_KEY_FILE for cart). */
  serviceKeyFile: string;
}

export const testIssuer = "pos-connect-test";
export const testAudience = "pos-connect";

async function keyPair(kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const common = { kid, alg: "EdDSA", use: "sig" };
  return {
    privateJwk: { ...(await exportJWK(privateKey)), ...common },
    publicJwk: { ...(await exportJWK(publicKey)), ...common },
  };
}

async function createTestAuth(): Promise<TestAuth> {
  const dir = mkdtempSync(join(tmpdir(), "pos-auth-test-"));
  const issuer = await keyPair(`test-issuer-${randomBytes(3).toString("hex")}`);
  const service = await keyPair(`test-service-${randomBytes(3).toString("hex")}`);
  const jwksFile = join(dir, "jwks.json");
  const serviceJwksFile = join(dir, "service-jwks.json");
  const serviceKeyFile = join(dir, "service.private.jwk");
  const secretFile = join(dir, "api-key-secret");
  const keysFile = join(dir, "api-keys.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [issuer.publicJwk] }));
  writeFileSync(serviceJwksFile, JSON.stringify({ keys: [service.publicJwk] }));
  writeFileSync(serviceKeyFile, JSON.stringify(service.privateJwk), { mode: 0o600 });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(secretFile, secret, { mode: 0o600 });
  const env = {
    AUTH_JWKS_FILE: jwksFile,
    AUTH_JWT_ISSUER: testIssuer,
    AUTH_JWT_AUDIENCE: testAudience,
    AUTH_SERVICE_JWKS_FILE: serviceJwksFile,
    AUTH_SERVICE_KEY_FILE: serviceKeyFile,
    AUTH_API_KEY_SECRET_FILE: secretFile,
    AUTH_API_KEYS_FILE: keysFile,
    // Tests revoke keys and wait for it: a short refresh keeps them quick.
    AUTH_KEY_REFRESH_MS: "100",
  };
  const reader = createEnvReader(env);
  const settings = readAuthSettings(reader, undefined);
  reader.done();
  const signer = await createTokenSigner(issuer.privateJwk, { issuer: testIssuer, audience: testAudience });
  const serviceSigner = await createTokenSigner(service.privateJwk, {
    issuer: "pos-connect:service",
    audience: testAudience,
  });
  const keys = createFileKeyStore(keysFile, { checkEveryMs: 0 });
  const secretBytes = Buffer.from(secret, "utf8");
  const serviceToken: TestAuth["serviceToken"] = (tenant, lifetimeSeconds = 3600) =>
    serviceSigner.sign({ sub: "cart", tenant, stores: ["*"], roles: ["service"] }, lifetimeSeconds);
  const token: TestAuth["token"] = (claims, lifetimeSeconds = 3600) =>
    signer.sign({ sub: "test-admin", stores: ["*"], roles: ["admin"], ...claims }, lifetimeSeconds);
  const apiKey: TestAuth["apiKey"] = async (binding) => {
    const made = newApiKey(secretBytes, { ...binding, roles: binding.roles ?? ["terminal"], label: "test" });
    await keys.add(made.record);
    return made;
  };
  const terminal = await apiKey({ tenant: "T0001", store: "S0001", terminal: "R01", roles: ["terminal", "staff"] });
  return {
    dir,
    env,
    settings,
    open: () => openServerAuth(settings),
    // A request that names no tenant (bad-input tests) is sent as T0001's: empty fields are refused by validation.
    clientInterceptor: createBearerInterceptor((tenant) => token({ tenant: tenant || "T0001" }), {
      lifetimeSeconds: 3600,
    }),
    serviceInterceptor: createBearerInterceptor((tenant) => serviceToken(tenant || "T0001"), { lifetimeSeconds: 3600 }),
    async openFor(...services) {
      const { authenticator } = await openServerAuth(settings);
      return { authenticator, policy: new Map(openServices(...services)) };
    },
    adminBearer: `Bearer ${await token({ tenant: "T0001" }, 24 * 3600)}`,
    token,
    serviceToken,
    apiKey,
    async revokeApiKey(id) {
      await keys.revoke(id);
    },
    terminalKey: terminal.key,
    serviceKeyFile,
  };
}

/** This test file's credentials (see TestAuth). */
export const testAuth: TestAuth = await createTestAuth();
