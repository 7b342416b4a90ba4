import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { requestLogKey } from "../request-log.js";
import { audit, rpcName } from "./audit.js";
import type { Authenticator } from "./authenticator.js";
import type { PolicyTable, ProtectedMethod, Scope } from "./policy.js";
import { hasRole, mayActInStore, type Principal, principalKey } from "./principal.js";

const notCovered = () =>
  // One text for a foreign tenant, store or terminal, whether or not it exists: nothing to learn from it.
  new ConnectError(
    "this credential does not cover the tenant, store or terminal named in the request",
    Code.PermissionDenied,
  );

/**
 * THE authentication and authorization of every RPC, on every path (composed once in
 * connect-app.ts): find the method's policy (none → refused), prove the caller, check its roles and
 * that the tenant, store and terminal the request names are its own, then hand the principal to the
 * handler as a context value. Audited methods log who did what, and how it ended.
 */
export function createAuthInterceptor(options: { authenticator: Authenticator; policy: PolicyTable }): Interceptor {
  const { authenticator, policy } = options;
  return (next) => async (req) => {
    const rule = policy.get(req.method);
    if (rule === undefined) {
      throw new ConnectError(`${rpcName(req.method)} has no access policy and is refused`, Code.PermissionDenied);
    }
    if (rule.open === true) return next(req);
    const principal = await authenticator.authenticate(req.header);
    if (!hasRole(principal, rule.roles)) {
      throw new ConnectError(
        `roles ${principal.roles.join(", ")} may not call ${rpcName(req.method)} (needs ${rule.roles.join(" or ")})`,
        Code.PermissionDenied,
      );
    }
    req.contextValues.set(principalKey, principal);
    if (req.stream) {
      // Every message of a stream is checked as it is read (no streaming method is protected today).
      const messages = req.message;
      return next({
        ...req,
        message: (async function* () {
          for await (const m of messages) {
            checkScope(principal, rule.scope(m));
            yield m;
          }
        })(),
      });
    }
    checkScope(principal, rule.scope(req.message));
    if (rule.audit === undefined) return next(req);
    return audited(rule, principal, req.contextValues.get(requestLogKey), rpcName(req.method), req.message, () =>
      next(req),
    );
  };
}

function checkScope(principal: Principal, scope: Scope): void {
  if (scope.tenant !== undefined && scope.tenant !== "" && scope.tenant !== principal.tenant) throw notCovered();
  if (scope.store !== undefined && scope.store !== "" && !mayActInStore(principal, scope.store)) throw notCovered();
  const terminal = scope.terminal;
  if (
    terminal !== undefined &&
    terminal !== "" &&
    principal.terminal !== undefined &&
    terminal !== principal.terminal
  ) {
    throw notCovered();
  }
}

async function audited<R>(
  rule: ProtectedMethod,
  principal: Principal,
  log: Parameters<typeof audit>[0],
  what: string,
  message: unknown,
  call: () => Promise<R>,
): Promise<R> {
  const fields = { tenant: principal.tenant, ...rule.audit?.(message) };
  const who = { kind: principal.kind, subject: principal.subject, tenant: principal.tenant, roles: principal.roles };
  try {
    const res = await call();
    audit(log, { who, what, fields, outcome: "ok" });
    return res;
  } catch (e) {
    audit(log, { who, what, fields, outcome: Code[ConnectError.from(e).code] ?? "unknown" });
    throw e;
  }
}

/**
 * For handlers that load a cart by id: may this caller see it? Terminal keys see only their own
 * terminal's carts; the caller of another terminal's cart gets the same `not_found` as for a cart
 * that does not exist, so cart ids of other terminals cannot be probed.
 */
export function ownsCart(principal: Principal | undefined, cart: { terminalId: string }): boolean {
  return principal?.terminal === undefined || principal.terminal === cart.terminalId;
}
