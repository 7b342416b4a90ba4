import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import { type ApiKeyRecord, type ApiKeyStore, apiKeyId, apiKeyMatches } from "./api-key.js";
import { isRole, type Principal, type Role } from "./principal.js";

/** The `iss` of service tokens (cart → master-data): they are checked against the service keys only. */
export const serviceTokenIssuer = "pos-connect:service";

/** Asymmetric algorithms only: a verifier holding a shared HMAC secret could also mint tokens. */
export const tokenAlgorithms = ["EdDSA", "Ed25519", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256"];

export interface AuthenticatorOptions {
  /** Staff and back-office tokens: their signing keys, accepted issuers, this deployment's audience. */
  jwt?: { keys: JWTVerifyGetKey; issuers: readonly string[]; audience: string } | undefined;
  /** Service tokens (iss = serviceTokenIssuer): the public keys of the services allowed to call. */
  serviceJwt?: { keys: JWTVerifyGetKey; audience: string } | undefined;
  /** Terminal API keys and the server secret their HMACs are made with. */
  apiKeys?: { store: ApiKeyStore; secret: Buffer } | undefined;
  /** Allowed difference between our clock and the issuer's for exp/nbf/iat. */
  clockToleranceSeconds?: number;
  now?: () => number;
}

/** Headers in → the proven caller, or `unauthenticated` with a message that tells nothing about other keys. */
export interface Authenticator {
  authenticate(header: Headers): Promise<Principal>;
}

const missing = () =>
  new ConnectError(
    "this call needs a credential: a terminal API key (x-api-key) or a bearer token (authorization: Bearer …)",
    Code.Unauthenticated,
  );
const keyRefused = () => new ConnectError("API key not accepted", Code.Unauthenticated);
const tokenRefused = () => new ConnectError("bearer token not accepted", Code.Unauthenticated);

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  // Verifying a signature costs more than the rest of a call; a token is verified once and its
  // principal kept until it expires (at most a minute, so a key removed from the JWKS stops working soon).
  const verified = new LRUCache<string, { principal: Principal; expiresAtMs: number }>({ max: 10_000, ttl: 60_000 });

  // The key that matched each record (as the store holds it now): a terminal sends the same key on
  // every call, and comparing it in constant time costs far less than its HMAC. A reloaded or
  // revoked record is a new object, checked afresh.
  const matched = new WeakMap<ApiKeyRecord, Buffer>();

  async function fromApiKey(key: string): Promise<Principal> {
    const apiKeys = options.apiKeys;
    const id = apiKeyId(key);
    if (apiKeys === undefined || id === undefined) throw keyRefused();
    const record = await apiKeys.store.find(id);
    if (record === undefined || record.revokedAt !== undefined) throw keyRefused();
    const given = Buffer.from(key);
    const known = matched.get(record);
    if (known === undefined || known.length !== given.length || !timingSafeEqual(known, given)) {
      if (!apiKeyMatches(apiKeys.secret, key, record)) throw keyRefused();
      matched.set(record, given);
    }
    return {
      kind: "api-key",
      subject: record.id,
      tenant: record.tenant,
      stores: [record.store],
      terminal: record.terminal,
      roles: record.roles,
    };
  }

  async function verify(token: string): Promise<Principal> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw tokenRefused();
    }
    const service = issuer === serviceTokenIssuer;
    const source = service ? options.serviceJwt : options.jwt;
    if (source === undefined) throw tokenRefused();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, source.keys, {
        issuer: service ? serviceTokenIssuer : [...(options.jwt?.issuers ?? [])],
        audience: source.audience,
        algorithms: tokenAlgorithms,
        clockTolerance,
        requiredClaims: ["exp", "sub"],
        currentDate: new Date(now()),
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new ConnectError("bearer token expired", Code.Unauthenticated);
      throw tokenRefused();
    }
    const principal = principalOfClaims(payload, service);
    if (principal === undefined) throw tokenRefused();
    return principal;
  }

  async function fromBearer(value: string): Promise<Principal> {
    const m = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(value);
    if (m === null) {
      throw new ConnectError('authorization header must be "Bearer <token>"', Code.Unauthenticated);
    }
    const token = m[1] as string;
    const hit = verified.get(token);
    if (hit !== undefined && hit.expiresAtMs + clockTolerance * 1000 > now()) return hit.principal;
    const principal = await verify(token);
    const exp = (decodeJwt(token).exp ?? 0) * 1000;
    verified.set(token, { principal, expiresAtMs: exp });
    return principal;
  }

  return {
    async authenticate(header) {
      const key = header.get("x-api-key");
      const authorization = header.get("authorization");
      if (key !== null && authorization !== null) {
        throw new ConnectError("send one credential: x-api-key or authorization, not both", Code.Unauthenticated);
      }
      if (key !== null) return fromApiKey(key.trim());
      if (authorization !== null) return fromBearer(authorization.trim());
      throw missing();
    },
  };
}

/** The claims as a principal; undefined when they do not say who, for which tenant, with which roles. */
function principalOfClaims(payload: JWTPayload, service: boolean): Principal | undefined {
  const { sub, tenant, stores, roles } = payload as JWTPayload & Record<string, unknown>;
  if (typeof sub !== "string" || sub === "" || typeof tenant !== "string" || tenant === "") return undefined;
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every(isRole)) return undefined;
  const granted: Role[] = roles;
  // Only the service keys make service tokens, and they make nothing else.
  if (service !== granted.includes("service") || (service && granted.length !== 1)) return undefined;
  // No stores claim = no store: only tenant-wide methods (a token for every store says "*").
  const storeList = stores === undefined ? [] : stores;
  if (!Array.isArray(storeList) || !storeList.every((s): s is string => typeof s === "string")) return undefined;
  return {
    kind: service ? "service" : "jwt",
    subject: sub,
    tenant,
    stores: storeList,
    terminal: undefined,
    roles: granted,
  };
}
