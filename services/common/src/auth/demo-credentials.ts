import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, exportJWK, generateKeyPair, type JWK } from "jose";
import { apiKeyId, apiKeyMatches, newApiKey } from "./api-key.js";
import { createFileKeyStore } from "./file-key-store.js";
import { createTokenSigner } from "./tokens.js";

/** The embedded default's credentials: where they are, and what is new since the last start. */
export interface DemoCredentials {
  /** AUTH_* for both services (the service key only for cart, the service JWKS only for master-data). */
  env: Record<string, string>;
  terminalKeyFile: string;
  adminTokenFile: string;
  /** What was made on this start (and so is printed once): "terminal key", "admin token", … */
  created: string[];
}

export const demoIssuer = "pos-connect";
export const demoAudience = "pos-connect";

/**
 * Makes (once; later starts reuse what is there and still valid) everything the embedded default
 * needs to authenticate: an HMAC secret and a key file holding the demo terminal key (T0001 / S0001 /
 * R01), a demo issuer key pair with its JWKS and an admin token of T0001 signed by it (30 days,
 * renewed when less than a day is left), and cart's service key pair with the JWKS master-data
 * trusts. Private keys and secrets are written 0600 into `dir` (gitignored: .cache/demo-auth).
 */
export async function provisionDemoCredentials(dir: string, now = new Date()): Promise<DemoCredentials> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const created: string[] = [];
  const file = (name: string) => join(dir, name);
  const writeSecret = (name: string, text: string) => writeFileSync(file(name), text, { mode: 0o600 });

  if (!existsSync(file("api-key-secret"))) {
    writeSecret("api-key-secret", randomBytes(32).toString("hex"));
    created.push("API key secret");
  }
  const secret = Buffer.from(readFileSync(file("api-key-secret"), "utf8").trim(), "utf8");

  const issuer = await keyPairIn(dir, "issuer", created);
  const service = await keyPairIn(dir, "cart-service", created);

  const keys = createFileKeyStore(file("api-keys.json"), { checkEveryMs: 0 });
  const current = existsSync(file("terminal.key")) ? readFileSync(file("terminal.key"), "utf8").trim() : "";
  const id = apiKeyId(current);
  const record = id === undefined ? undefined : await keys.find(id);
  if (record === undefined || record.revokedAt !== undefined || !apiKeyMatches(secret, current, record)) {
    const made = newApiKey(
      secret,
      // A supervised demo terminal: its cashier may also discount and cancel (staff), as the page shows.
      { tenant: "T0001", store: "S0001", terminal: "R01", roles: ["terminal", "staff"], label: "demo terminal" },
      now,
    );
    await keys.add(made.record);
    writeSecret("terminal.key", `${made.key}\n`);
    created.push("terminal key");
  }

  const tokenFile = file("admin.token");
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : "";
  if (!tokenStillGood(token, issuer.publicJwk.kid, now)) {
    const signer = await createTokenSigner(issuer.privateJwk, { issuer: demoIssuer, audience: demoAudience });
    const admin = await signer.sign(
      { sub: "demo-admin", tenant: "T0001", stores: ["*"], roles: ["admin"] },
      30 * 24 * 3600,
    );
    writeSecret("admin.token", `${admin}\n`);
    created.push("admin token");
  }
  return {
    env: {
      AUTH_API_KEY_SECRET_FILE: file("api-key-secret"),
      AUTH_API_KEYS_FILE: file("api-keys.json"),
      AUTH_JWKS_FILE: issuer.jwksFile,
      AUTH_JWT_ISSUER: demoIssuer,
      AUTH_JWT_AUDIENCE: demoAudience,
      AUTH_SERVICE_JWKS_FILE: service.jwksFile,
      AUTH_SERVICE_KEY_FILE: service.privateFile,
    },
    terminalKeyFile: file("terminal.key"),
    adminTokenFile: tokenFile,
    created,
  };
}

function tokenStillGood(token: string, kid: string | undefined, now: Date): boolean {
  if (token === "") return false;
  try {
    const [header] = token.split(".");
    const { kid: tokenKid } = JSON.parse(Buffer.from(header ?? "", "base64url").toString("utf8")) as { kid?: string };
    const exp = decodeJwt(token).exp ?? 0;
    return tokenKid === kid && exp * 1000 - now.getTime() > 24 * 3600 * 1000;
  } catch {
    return false;
  }
}

async function keyPairIn(
  dir: string,
  name: string,
  created: string[],
): Promise<{ privateJwk: JWK; publicJwk: JWK; privateFile: string; jwksFile: string }> {
  const privateFile = join(dir, `${name}.private.jwk`);
  const jwksFile = join(dir, `${name}.jwks.json`);
  if (!existsSync(privateFile) || !existsSync(jwksFile)) {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const meta = { kid: `${name}-${randomBytes(4).toString("hex")}`, alg: "EdDSA", use: "sig" };
    writeFileSync(privateFile, JSON.stringify({ ...(await exportJWK(privateKey)), ...meta }), { mode: 0o600 });
    writeFileSync(jwksFile, `${JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), ...meta }] }, null, 2)}\n`);
    created.push(`${name} key pair`);
  }
  const privateJwk = JSON.parse(readFileSync(privateFile, "utf8")) as JWK;
  const { d: _, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk, privateFile, jwksFile };
}
