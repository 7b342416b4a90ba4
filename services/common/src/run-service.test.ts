import { createServer, type Server } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./env-config.js";
import { UnavailableError } from "./errors.js";
import { type Closable, runService, type ServiceDefinition, type ServiceHost } from "./run-service.js";

// The bootstrap both main.ts use, on a real app and socket, with a host that records
// instead of exiting. The real processes (services/*/test/main-process.test.ts) add signals.

interface FakeHost extends ServiceHost {
  signal(name: NodeJS.Signals): void;
  exits: number[];
  exited: Promise<number>;
  errors: string[];
}

function fakeHost(): FakeHost {
  const handlers = new Map<string, (() => void)[]>();
  const exits: number[] = [];
  const errors: string[] = [];
  let exited!: (code: number) => void;
  return {
    env: { PORT: "0" },
    onSignal: (signal, handler) => handlers.set(signal, [...(handlers.get(signal) ?? []), handler]),
    exit(code) {
      exits.push(code);
      exited(code);
    },
    error: (message, cause) => errors.push(cause === undefined ? message : `${message} ${String(cause)}`),
    signal: (name) => {
      for (const h of handlers.get(name) ?? []) h();
    },
    exits,
    exited: new Promise((resolve) => {
      exited = resolve;
    }),
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
  it("listens, then on SIGTERM closes the app before the resources and exits 0, once whatever signals follow", async () => {
    const events: string[] = [];
    const logs: string[] = [];
    const host = fakeHost();
    await runService(service(events, {}, logs), host);
    expect(apps[0]?.server.listening).toBe(true);
    expect(logs.join("")).toContain("svc serving");
    host.signal("SIGTERM");
    host.signal("SIGINT");
    host.signal("SIGTERM");
    expect(await host.exited).toBe(0);
    expect(events).toEqual(["open", "app closed", "resources closed"]);
    expect(host.exits).toEqual([0]);
    expect(apps[0]?.server.listening).toBe(false);
    expect(logs.join("")).toMatch(/"signal":"SIGTERM","seen":7.*shutting down/);
  });

  it("calls onStop the moment shutdown starts, before anything closes, once", async () => {
    const events: string[] = [];
    const host = fakeHost();
    await runService(service(events, { onStop: () => void events.push("stopping") }), host);
    host.signal("SIGTERM");
    host.signal("SIGTERM");
    expect(await host.exited).toBe(0);
    expect(events).toEqual(["open", "stopping", "app closed", "resources closed"]);
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
    host.signal("SIGINT");
    expect(await host.exited).toBe(1);
    expect(events).toEqual(["app closed"]);
    expect(logs.join("")).toContain("closing the resources failed");
    expect(logs.join("")).toContain("redis went away");
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
