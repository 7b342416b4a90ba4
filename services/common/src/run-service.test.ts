import { createServer, type Server } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./env-config.js";
import { UnavailableError } from "./errors.js";
import {
  type Closable,
  planShutdown,
  runService,
  type ServiceDefinition,
  type ServiceHost,
  type StopReason,
} from "./run-service.js";

// The bootstrap both main.ts use, on a real app and socket, with a host that records
// instead of exiting. The real processes (services/*/test/main-process.test.ts) add signals.

interface FakeHost extends ServiceHost {
  /** What the process would do on a signal or a crash, per onStop's contract (close-with-grace in production). */
  stop(reason: StopReason): Promise<void>;
  exits: number[];
  errors: string[];
}

function fakeHost(): FakeHost {
  let registered: ((reason: StopReason) => Promise<void>) | undefined;
  const exits: number[] = [];
  const errors: string[] = [];
  const exit = (code: number) => void exits.push(code);
  return {
    env: { PORT: "0" },
    onStop: (stop) => {
      registered = stop;
    },
    exit,
    error: (message, cause) => errors.push(cause === undefined ? message : `${message} ${String(cause)}`),
    async stop(reason) {
      if (registered === undefined) throw new Error("the service arranged no stop");
      await registered(reason).then(
        () => exit(reason.err === undefined ? 0 : 1),
        () => exit(1),
      );
    },
    exits,
    errors,
  };
}

const apps: FastifyInstance[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(blockers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A service whose steps record what happened, in order; `overrides` replace steps. */
function service(
  events: string[],
  overrides: Partial<ServiceDefinition<{ host: string; port: number }, Closable>> = {},
  logs: string[] = [],
): ServiceDefinition<{ host: string; port: number }, Closable> {
  return {
    name: "svc",
    readConfig: (env) => ({ host: "127.0.0.1", port: Number(env.PORT) }),
    async open() {
      events.push("open");
      return {
        close: async () => {
          events.push("resources closed");
        },
      };
    },
    async createApp() {
      const app = Fastify({ logger: { level: "info", stream: { write: (line: string) => logs.push(line) } } });
      apps.push(app);
      app.addHook("onClose", async () => {
        events.push("app closed");
      });
      return app;
    },
    serving: () => ({ message: "svc serving" }),
    stopping: () => ({ seen: 7 }),
    ...overrides,
  };
}

describe("runService", () => {
  it("listens, then on SIGTERM closes the app before the resources and exits 0", async () => {
    const events: string[] = [];
    const logs: string[] = [];
    const host = fakeHost();
    await runService(service(events, {}, logs), host);
    expect(apps[0]?.server.listening).toBe(true);
    expect(logs.join("")).toContain("svc serving");
    await host.stop({ signal: "SIGTERM" });
    expect(events).toEqual(["open", "app closed", "resources closed"]);
    expect(host.exits).toEqual([0]);
    expect(apps[0]?.server.listening).toBe(false);
    expect(logs.join("")).toMatch(/"signal":"SIGTERM","seen":7.*shutting down/);
  });

  it("calls onStop the moment shutdown starts, before anything closes, also after a crash", async () => {
    const events: string[] = [];
    const host = fakeHost();
    await runService(service(events, { onStop: () => void events.push("stopping") }), host);
    await host.stop({ signal: "SIGTERM" });
    expect(host.exits).toEqual([0]);
    expect(events).toEqual(["open", "stopping", "app closed", "resources closed"]);
    const crashed: string[] = [];
    const again = fakeHost();
    await runService(service(crashed, { onStop: () => void crashed.push("stopping") }), again);
    await again.stop({ err: new Error("kaboom") });
    expect(again.exits).toEqual([1]);
    expect(crashed).toEqual(["open", "stopping", "app closed", "resources closed"]);
  });

  it("logs a close that fails and exits 1, with no unhandled rejection", async () => {
    const events: string[] = [];
    const logs: string[] = [];
    const host = fakeHost();
    const failing = async () => ({
      close: async () => {
        throw new Error("redis went away");
      },
    });
    await runService(service(events, { open: failing }, logs), host);
    await host.stop({ signal: "SIGINT" });
    expect(host.exits).toEqual([1]);
    expect(events).toEqual(["app closed"]);
    expect(logs.join("")).toContain("closing the resources failed");
    expect(logs.join("")).toContain("redis went away");
  });

  it("after a crash logs the error, still closes everything, and exits 1", async () => {
    const events: string[] = [];
    const logs: string[] = [];
    const host = fakeHost();
    await runService(service(events, {}, logs), host);
    await host.stop({ err: new Error("kaboom") });
    expect(host.exits).toEqual([1]);
    expect(events).toEqual(["open", "app closed", "resources closed"]);
    expect(logs.join("")).toMatch(/"level":60.*kaboom.*crashed; shutting down/);
  });

  it("refuses a bad configuration with its one message, opening nothing", async () => {
    const events: string[] = [];
    const host = fakeHost();
    const readConfig = () => {
      throw new ConfigError(["PORT must be a whole number", "LOG_LEVEL must be one of …"]);
    };
    await runService(service(events, { readConfig }), host);
    expect(host.exits).toEqual([1]);
    expect(host.errors).toEqual([
      "svc: invalid configuration:\n  - PORT must be a whole number\n  - LOG_LEVEL must be one of …",
    ]);
    expect(events).toEqual([]);
  });

  it("says which dependency is unreachable in one line, and releases what was opened when the app cannot be built", async () => {
    const events: string[] = [];
    const host = fakeHost();
    const createApp = async (): Promise<FastifyInstance> => {
      throw new UnavailableError("MongoDB unavailable: connect ECONNREFUSED 127.0.0.1:1");
    };
    await runService(service(events, { createApp }), host);
    expect(host.exits).toEqual([1]);
    expect(host.errors).toEqual(["svc: MongoDB unavailable: connect ECONNREFUSED 127.0.0.1:1"]);
    expect(events).toEqual(["open", "resources closed"]);
  });

  it("reports an unexpected start-up failure with its error", async () => {
    const host = fakeHost();
    const open = async (): Promise<Closable> => {
      throw new TypeError("a bug");
    };
    await runService(service([], { open }), host);
    expect(host.exits).toEqual([1]);
    expect(host.errors).toEqual(["svc failed to start: TypeError: a bug"]);
  });

  it("says so when its port is taken, and closes everything", async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    const events: string[] = [];
    const host = fakeHost();
    await runService(service(events, { readConfig: () => ({ host: "127.0.0.1", port }) }), host);
    expect(host.exits).toEqual([1]);
    expect(host.errors[0]).toMatch(new RegExp(`^svc: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    expect(events).toEqual(["open", "app closed", "resources closed"]);
  });
});

describe("planShutdown", () => {
  it("gives calls in flight the longest request budget and a second more, within SHUTDOWN_TIMEOUT_MS", () => {
    // cart's defaults: 3 × 3 s to master-data + backoffs, two Redis and two MongoDB operations.
    expect(planShutdown(30_000, 15_150)).toEqual({
      deadlineMs: 30_000,
      closeGraceMs: 16_150,
      budgetExceedsGrace: false,
    });
    expect(planShutdown(30_000, undefined)).toEqual({
      deadlineMs: 30_000,
      closeGraceMs: 5_000,
      budgetExceedsGrace: false,
    });
  });

  it("keeps time to close the stores and says when a request may outlast the grace", () => {
    expect(planShutdown(10_000, 9_150)).toEqual({ deadlineMs: 10_000, closeGraceMs: 8_000, budgetExceedsGrace: true });
    expect(planShutdown(1_000, 0)).toEqual({ deadlineMs: 1_000, closeGraceMs: 750, budgetExceedsGrace: false });
  });
});
