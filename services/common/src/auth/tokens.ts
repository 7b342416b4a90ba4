import { readFileSync } from "node:fs";
import type { Interceptor } from "@connectrpc/connect";
import { importJWK, type JWK, SignJWT } from "jose";
import { serviceTokenIssuer } from "./authenticator.js";
import type { Role } from "./principal.js";

/** Claims of our bearer tokens besides iss/aud/exp. */
export interface TokenClaims {
  sub: string;
  tenant: string;
  stores: readonly string[];
  roles: readonly Role[];
}

export interface TokenSigner {
  sign(claims: TokenClaims, lifetimeSeconds: number): Promise<string>;
}

/** Signs with a private JWK that names its `kid` and `alg` (the verifier picks the key by kid). */
export async function createTokenSigner(
  privateJwk: JWK,
  options: { issuer: string; audience: string },
): Promise<TokenSigner> {
  const { kid, alg } = privateJwk;
  if (kid === undefined || alg === undefined) throw new Error("the signing key (JWK) must name its kid and alg");
  const key = await importJWK(privateJwk, alg);
  return {
    sign: (claims, lifetimeSeconds) =>
      new SignJWT({ tenant: claims.tenant, stores: [...claims.stores], roles: [...claims.roles] })
        .setProtectedHeader({ alg, kid, typ: "JWT" })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(claims.sub)
        .setIssuedAt()
        // Absolute, so that tests can make tokens that expired a while ago (a negative lifetime).
        .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
        .sign(key),
  };
}

export function readJwkFile(path: string): JWK {
  return JSON.parse(readFileSync(path, "utf8")) as JWK;
}

/** The tenant a request message names (`tenant_id`, or its cart's), "" when none. */
export function tenantOfMessage(message: unknown): string {
  const m = message as { tenantId?: unknown; cart?: { tenantId?: unknown } } | null;
  if (typeof m?.tenantId === "string") return m.tenantId;
  if (typeof m?.cart?.tenantId === "string") return m.cart.tenantId;
  return "";
}

/**
 * A client interceptor that sends `authorization: Bearer <token for the request's tenant>`; tokens
 * are made once per tenant and made again when less than a fifth of their life is left.
 */
export function createBearerInterceptor(
  tokenFor: (tenant: string) => Promise<string>,
  options: { lifetimeSeconds: number; now?: () => number },
): Interceptor {
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { token: Promise<string>; renewAt: number }>();
  const renewAfterMs = options.lifetimeSeconds * 800;
  return (next) => async (req) => {
    const tenant = req.stream ? "" : tenantOfMessage(req.message);
    let entry = tokens.get(tenant);
    if (entry === undefined || entry.renewAt <= now()) {
      entry = { token: tokenFor(tenant), renewAt: now() + renewAfterMs };
      entry.token.catch(() => tokens.delete(tenant));
      tokens.set(tenant, entry);
    }
    req.header.set("authorization", `Bearer ${await entry.token}`);
    return next(req);
  };
}

/**
 * cart's own credential at master-data: a service token per tenant (role `service`, iss
 * `pos-connect:service`), signed with the private key in AUTH_SERVICE_KEY_FILE, whose public half
 * master-data lists in AUTH_SERVICE_JWKS_FILE.
 */
export async function createServiceCredentialInterceptor(options: {
  keyFile: string;
  audience: string;
  subject: string;
  lifetimeSeconds?: number;
}): Promise<Interceptor> {
  const lifetimeSeconds = options.lifetimeSeconds ?? 300;
  const signer = await createTokenSigner(readJwkFile(options.keyFile), {
    issuer: serviceTokenIssuer,
    audience: options.audience,
  });
  return createBearerInterceptor(
    (tenant) => signer.sign({ sub: options.subject, tenant, stores: ["*"], roles: ["service"] }, lifetimeSeconds),
    { lifetimeSeconds },
  );
}
