import { fileURLToPath } from "node:url";
import { type ServiceProcess, spawnService } from "@pos/common/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectRedisCartStore } from "../src/store/redis-cart-store.js";
import { type LocalRedisServer, startRedisServer } from "../src/testing/index.js";

// Durable carts or a loud refusal, on real redis-server processes of the test's own: with and without
// AOF, RDB only, CONFIG renamed away as managed services do; the real cart process in production mode;
// readiness once its Redis is killed.

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const servers: Record<"none" | "aof" | "rdb" | "noConfig", LocalRedisServer | undefined> = {
  none: undefined,
  aof: undefined,
  rdb: undefined,
  noConfig: undefined,
};
const running: ServiceProcess[] = [];

beforeAll(async () => {
  [servers.none, servers.aof, servers.rdb, servers.noConfig] = await Promise.all([
    startRedisServer(),
    startRedisServer(["--appendonly", "yes", "--appendfsync", "everysec"]),
    startRedisServer(["--save", "60 1"]),
    startRedisServer(["--appendonly", "yes", "--rename-command", "CONFIG", ""]),
  ]);
}, 60_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop("SIGKILL")));
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s?.close()));
});

function url(which: keyof typeof servers): string {
  const s = servers[which];
  if (s === undefined) throw new Error(`redis-server "${which}" did not start`);
  return s.url;
}

const start = (env: Record<string, string>) => {
  const p = spawnService(main, { CART_PORT: "0", LOG_LEVEL: "info", ...env });
  running.push(p);
  return p;
};

describe("Redis persistence at start-up", () => {
  it("reads each server's settings: none, AOF, RDB, and AOF through INFO where CONFIG is renamed away", async () => {
    const read = async (which: keyof typeof servers) => {
      const store = await connectRedisCartStore(url(which), { timeoutMs: 2000 });
      try {
        return (await store.persistence())[0];
      } finally {
        await store.close();
      }
    };
    expect(await read("none")).toMatchObject({ aof: false, save: "", source: "config" });
    expect(await read("aof")).toMatchObject({ aof: true, fsync: "everysec", source: "config" });
    expect(await read("rdb")).toMatchObject({ aof: false, save: "60 1", source: "config" });
    expect(await read("noConfig")).toMatchObject({ aof: true, save: undefined, source: "info" });
  });

  it("production (NODE_ENV=production) refuses a Redis without persistence, naming the fix", async () => {
    const p = start({ NODE_ENV: "production", REDIS_URL: url("none") });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/Redis has no persistence .*no AOF, no RDB snapshots.*refusing to start/);
    expect(p.output()).toContain("REDIS_ALLOW_NO_PERSISTENCE=true");
  });

  it("production starts on it when explicitly allowed, and says so", async () => {
    const p = start({ NODE_ENV: "production", REDIS_URL: url("none"), REDIS_ALLOW_NO_PERSISTENCE: "true" });
    await p.port(30_000);
    expect(p.output()).toMatch(/"level":40.*starting anyway because REDIS_ALLOW_NO_PERSISTENCE=true/);
  });

  it("development starts without persistence with a warning", async () => {
    const p = start({ REDIS_URL: url("none") });
    await p.port(30_000);
    expect(p.output()).toMatch(/"level":40.*a Redis restart would lose every cart; enable the append-only file/);
  });

  it("production starts on AOF and logs it; readiness says NOT_SERVING, naming the cart store, once Redis is killed", async () => {
    const own = await startRedisServer(["--appendonly", "yes"]);
    try {
      const p = start({ NODE_ENV: "production", REDIS_URL: own.url, REDIS_TIMEOUT_MS: "300" });
      const port = await p.port(30_000);
      expect(p.output()).toMatch(/"level":30.*Redis persistence: 127\.0\.0\.1:\d+: AOF \(appendfsync everysec\)/);
      /** Polls /readyz until it answers `status` (a probe on a loaded machine may miss one beat). */
      const readiness = async (status: number) => {
        const until = Date.now() + 30_000;
        for (;;) {
          const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
          if (ready.status === status) return (await ready.json()) as { status: string; failing: string[] };
          if (Date.now() > until) throw new Error(`/readyz still ${ready.status} after 30 s, expected ${status}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      expect((await readiness(200)).status).toBe("SERVING");
      await own.kill();
      const down = await readiness(503);
      expect(down.status).toBe("NOT_SERVING");
      // Named as clients know it; the address is in the start-up log, not in /readyz.
      expect(down.failing).toEqual(["cart store"]);
    } finally {
      await own.close();
    }
  });
});
