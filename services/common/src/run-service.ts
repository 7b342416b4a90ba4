import type { FastifyInstance } from "fastify";
import { ConfigError, type Env } from "./env-config.js";
import { UnavailableError } from "./errors.js";
import type { ServerSettings } from "./server-config.js";

/**
 * What a service is made of. `open` opens its dependencies (stores, clients),
 * `createApp` builds the app on them (and may prepare data); `serving` is the
 * line logged once listening, `stopping` adds fields to the shutdown line.
 */
export interface ServiceDefinition<C extends Pick<ServerSettings, "host" | "port">, D extends Closable> {
  /** For messages: "cart", "master-data". */
  name: string;
  readConfig(env: Env): C;
  // NoInfer: the config's type comes from readConfig alone.
  open(config: NoInfer<C>): Promise<D>;
  createApp(deps: NoInfer<D>, config: NoInfer<C>): Promise<FastifyInstance>;
  serving(config: NoInfer<C>): { message: string; fields?: Record<string, unknown> };
  stopping?(deps: NoInfer<D>): Record<string, unknown>;
  /** Called the moment shutdown starts, before anything closes (readiness turns NOT_SERVING here). */
  onStop?(deps: NoInfer<D>): void;
}

export interface Closable {
  close(): Promise<void>;
}

/** What a service needs of its process; tests pass their own. */
export interface ServiceHost {
  env: Env;
  onSignal(signal: NodeJS.Signals, handler: () => void): void;
  exit(code: number): void;
  /** Start-up failures, printed before (or instead of) the app's logger. */
  error(message: string, cause?: unknown): void;
}

export const processHost: ServiceHost = {
  env: process.env,
  onSignal: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
  error: (message, cause) => (cause === undefined ? console.error(message) : console.error(message, cause)),
};

/** A shutdown that has not finished by then (a close that hangs) exits anyway, with status 1. */
export const stopDeadlineMs = 10_000;

/**
 * The one way a service process runs: read the config, open the service,
 * stop on SIGTERM/SIGINT, then listen. Start-up failures exit 1 with one line
 * (a config error lists every bad variable; an unreachable dependency says
 * which) and no stack trace unless the failure is unexpected. Stopping closes
 * the app (in-flight requests finish), then the service's own resources, once
 * however many signals arrive; a failed or hung close is logged and exits 1,
 * never an unhandled rejection.
 */
export async function runService<C extends Pick<ServerSettings, "host" | "port">, D extends Closable>(
  definition: ServiceDefinition<C, D>,
  host: ServiceHost = processHost,
): Promise<void> {
  let config: C;
  let deps: D | undefined;
  let app: FastifyInstance;
  try {
    config = definition.readConfig(host.env);
    deps = await definition.open(config);
    app = await definition.createApp(deps, config);
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

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      app.log.error({ ms: stopDeadlineMs }, "shutdown did not finish in time; exiting");
      host.exit(1);
    }, stopDeadlineMs);
    deadline.unref();
    let fields: Record<string, unknown> = {};
    try {
      definition.onStop?.(opened);
      fields = definition.stopping?.(opened) ?? {};
    } catch {
      // Only for the log line: never a reason not to stop.
    }
    app.log.info({ signal, ...fields }, "shutting down");
    const code = await closeAll();
    clearTimeout(deadline);
    host.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) host.onSignal(signal, () => void stop(signal));

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
}

function failedToStart(name: string, e: unknown, host: ServiceHost): void {
  if (e instanceof ConfigError || e instanceof UnavailableError) {
    host.error(`${name}: ${e.message}`);
  } else {
    host.error(`${name} failed to start:`, e);
  }
  host.exit(1);
}
