import closeWithGrace from "close-with-grace";
import type { FastifyInstance } from "fastify";
import { ConfigError, type Env } from "./env-config.js";
import { UnavailableError } from "./errors.js";
import type { ServerSettings } from "./server-config.js";

/**
 * What a service is made of. `open` opens its dependencies (stores, clients),
 * `createApp` builds the app on them (and may prepare data); `serving` is the
 * line logged once listening, `stopping` adds fields to the shutdown line.
 */
/** What run-service needs of a config: where to listen and, optionally, SHUTDOWN_TIMEOUT_MS. */
export type RunConfig = Pick<ServerSettings, "host" | "port"> & Partial<Pick<ServerSettings, "shutdownTimeoutMs">>;

export interface ServiceDefinition<C extends RunConfig, D extends Closable> {
  /** For messages: "cart", "master-data". */
  name: string;
  readConfig(env: Env): C;
  // NoInfer: the config's type comes from readConfig alone.
  open(config: NoInfer<C>): Promise<D>;
  /** Builds the app; it must give its one-port server `closeGraceMs` (createConnectApp's option). */
  createApp(deps: NoInfer<D>, config: NoInfer<C>, shutdown: ShutdownPlan): Promise<FastifyInstance>;
  /**
   * The longest one request may take when every dependency is slow (its timeouts × attempts): on
   * shutdown, calls in flight get that long to finish, within SHUTDOWN_TIMEOUT_MS.
   */
  requestBudgetMs?(config: NoInfer<C>): number;
  serving(config: NoInfer<C>): { message: string; fields?: Record<string, unknown> };
  stopping?(deps: NoInfer<D>): Record<string, unknown>;
  /** Called the moment shutdown starts, before anything closes (readiness turns NOT_SERVING here). */
  onStop?(deps: NoInfer<D>): void;
}

export interface Closable {
  close(): Promise<void>;
}

/** Why a service stops: a signal (SIGTERM, SIGINT, …) or a crash (an uncaught error). */
export interface StopReason {
  signal?: string | undefined;
  err?: Error | undefined;
}

/** What a service needs of its process; tests pass their own. */
export interface ServiceHost {
  env: Env;
  /**
   * Runs `stop` once when the process is told to end or crashes. The process
   * then exits: 0 when `stop` resolved after a signal; 1 after a crash, when
   * `stop` rejected, or when it did not finish within `deadlineMs`.
   */
  onStop(stop: (reason: StopReason) => Promise<void>, options: { deadlineMs: number; log: LogLike }): void;
  exit(code: number): void;
  /** Start-up failures, printed before (or instead of) the app's logger. */
  error(message: string, cause?: unknown): void;
}

interface LogLike {
  error(message: string): void;
}

export const processHost: ServiceHost = {
  env: process.env,
  // close-with-grace (fastify's own choice): signals, a crash, a second signal (exit at once), the deadline.
  onStop: (stop, { deadlineMs, log }) =>
    void closeWithGrace(
      {
        delay: deadlineMs,
        logger: false,
        onTimeout: (ms) => log.error(`shutdown did not finish within ${ms} ms; exiting`),
        onSecondSignal: (signal) => log.error(`second ${signal} while shutting down; exiting`),
        onSecondError: (err) => log.error(`error while shutting down; exiting: ${String(err)}`),
      },
      stop,
    ),
  exit: (code) => process.exit(code),
  error: (message, cause) => (cause === undefined ? console.error(message) : console.error(message, cause)),
};

/** A shutdown that has not finished by then (a close that hangs) exits anyway, with status 1 (SHUTDOWN_TIMEOUT_MS). */
export const defaultShutdownTimeoutMs = 30_000;

export interface ShutdownPlan {
  /** The whole shutdown: past it the process exits 1 whatever is still open. */
  deadlineMs: number;
  /** How long calls in flight may run once shutdown began, before their connections are cut. */
  closeGraceMs: number;
  /** A request may take longer than closeGraceMs (SHUTDOWN_TIMEOUT_MS is too short for it). */
  budgetExceedsGrace: boolean;
}

/**
 * In-flight calls get the longest request budget and a second more, but never so much that the
 * stores cannot close before the deadline: a quarter of it (at most 2 s) is kept for them.
 */
export function planShutdown(shutdownTimeoutMs: number, requestBudgetMs: number | undefined): ShutdownPlan {
  const reserve = Math.min(2_000, shutdownTimeoutMs / 4);
  const cap = Math.max(1, Math.floor(shutdownTimeoutMs - reserve));
  const wanted = requestBudgetMs === undefined ? 5_000 : Math.ceil(requestBudgetMs) + 1_000;
  return {
    deadlineMs: shutdownTimeoutMs,
    closeGraceMs: Math.min(wanted, cap),
    budgetExceedsGrace: requestBudgetMs !== undefined && requestBudgetMs > cap,
  };
}

/**
 * The one way a service process runs: read the config, open the service,
 * arrange the stop, then listen. Start-up failures exit 1 with one line (a
 * config error lists every bad variable; an unreachable dependency says which)
 * and no stack trace unless the failure is unexpected. Stopping (SIGTERM,
 * SIGINT, or a crash) closes the app (in-flight requests finish), then the
 * service's own resources, once; a failed close is logged and the stop
 * rejects (exit 1), never an unhandled rejection.
 */
export async function runService<C extends RunConfig, D extends Closable>(
  definition: ServiceDefinition<C, D>,
  host: ServiceHost = processHost,
): Promise<void> {
  let config: C;
  let deps: D | undefined;
  let app: FastifyInstance;
  let plan: ShutdownPlan;
  try {
    config = definition.readConfig(host.env);
    plan = planShutdown(config.shutdownTimeoutMs ?? defaultShutdownTimeoutMs, definition.requestBudgetMs?.(config));
    deps = await definition.open(config);
    app = await definition.createApp(deps, config, plan);
  } catch (e) {
    await deps?.close().catch(() => undefined);
    failedToStart(definition.name, e, host);
    return;
  }
  const opened = deps;

  /** Closes the app (in-flight requests finish), then the service's resources; the exit status says if all went well. */
  const closeAll = async (): Promise<number> => {
    let code = 0;
    for (const [what, close] of [
      ["server", () => app.close()],
      ["resources", () => opened.close()],
    ] as const) {
      try {
        await close();
      } catch (e) {
        code = 1;
        app.log.error({ err: e }, `closing the ${what} failed`);
      }
    }
    return code;
  };

  host.onStop(
    async ({ signal, err }) => {
      try {
        definition.onStop?.(opened);
      } catch (e) {
        app.log.error({ err: e }, "the service's stop hook failed");
      }
      if (err !== undefined) {
        app.log.fatal({ err }, "crashed; shutting down");
      } else {
        let fields: Record<string, unknown> = {};
        try {
          fields = definition.stopping?.(opened) ?? {};
        } catch {
          // Only for the log line: never a reason not to stop.
        }
        app.log.info({ signal, ...fields }, "shutting down");
      }
      if ((await closeAll()) !== 0) throw new Error("shutdown failed (see the errors above)");
    },
    { deadlineMs: plan.deadlineMs, log: { error: (message) => app.log.error(message) } },
  );

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    // Say why (the port is taken, say) and release what was opened.
    host.error(`${definition.name}: cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`);
    await closeAll();
    host.exit(1);
    return;
  }
  const serving = definition.serving(config);
  app.log.info(serving.fields ?? {}, serving.message);
  if (plan.budgetExceedsGrace) {
    app.log.warn(
      { requestBudgetMs: definition.requestBudgetMs?.(config), closeGraceMs: plan.closeGraceMs },
      "SHUTDOWN_TIMEOUT_MS is shorter than the longest request: calls in flight at shutdown may be cut",
    );
  }
}

function failedToStart(name: string, e: unknown, host: ServiceHost): void {
  if (e instanceof ConfigError || e instanceof UnavailableError) {
    host.error(`${name}: ${e.message}`);
  } else {
    host.error(`${name} failed to start:`, e);
  }
  host.exit(1);
}
