import { createContextKey } from "@connectrpc/connect";

/** What a credential may do (see policy.ts); staff and admin include what the roles below them may. */
export const roles = ["terminal", "staff", "admin", "service"] as const;
export type Role = (typeof roles)[number];

/**
 * Who is calling, as the auth interceptor proved it. Kept small and flat on purpose: rate limits
 * and audit lines key on it.
 */
export interface Principal {
  /** api-key: a terminal's key; jwt: a staff or back-office token; service: another service (cart). */
  kind: "api-key" | "jwt" | "service";
  /** The key id, the token's `sub`, or the service's name. Never a secret. */
  subject: string;
  tenant: string;
  /** Stores the credential may act in; "*" = every store of the tenant. */
  stores: readonly string[];
  /** Set for terminal keys: such a caller sees only its own terminal's carts. */
  terminal: string | undefined;
  roles: readonly Role[];
}

/**
 * The authenticated caller of the current RPC, set by the auth interceptor before any handler runs.
 * Undefined only on open methods (health, reflection) and in handler unit tests that bypass the
 * server stack (createRouterTransport).
 */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "principal" });

const implied: Record<Role, readonly Role[]> = {
  terminal: ["terminal"],
  staff: ["staff", "terminal"],
  admin: ["admin", "staff", "terminal"],
  service: ["service"],
};

/** Does any of the principal's roles grant one of `allowed`? */
export function hasRole(principal: Pick<Principal, "roles">, allowed: readonly Role[]): boolean {
  return principal.roles.some((r) => implied[r].some((i) => allowed.includes(i)));
}

export function mayActInStore(principal: Pick<Principal, "stores">, store: string): boolean {
  return principal.stores.includes("*") || principal.stores.includes(store);
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (roles as readonly string[]).includes(value);
}
