import { ErrorReply } from "redis";
import { describe, expect, it } from "vitest";
import {
  isPersistent,
  judgePersistence,
  type PersistenceClient,
  type RedisPersistence,
  readRedisPersistence,
} from "./redis-persistence.js";

const node = (p: Partial<RedisPersistence>): RedisPersistence => ({
  node: "r1:6379",
  aof: false,
  fsync: "everysec",
  save: "",
  source: "config",
  ...p,
});

function fakeClient(config: Record<string, string> | "disabled", info: string | "disabled"): PersistenceClient {
  return {
    async configGet(name) {
      if (config === "disabled") throw new ErrorReply("ERR unknown command 'config'");
      return name in config ? { [name]: config[name] ?? "" } : {};
    },
    async info() {
      if (info === "disabled") throw new ErrorReply("NOPERM this user has no permissions to run the 'info' command");
      return info;
    },
  };
}

describe("Redis persistence check", () => {
  it("reads AOF, fsync and the RDB policy with CONFIG GET", async () => {
    const client = fakeClient({ appendonly: "yes", appendfsync: "everysec", save: "3600 1 300 100" }, "disabled");
    expect(await readRedisPersistence(client, "r1:6379")).toEqual({
      node: "r1:6379",
      aof: true,
      fsync: "everysec",
      save: "3600 1 300 100",
      source: "config",
    });
  });

  it("falls back to INFO persistence where CONFIG is disabled, and says what it cannot know", async () => {
    const on = await readRedisPersistence(fakeClient("disabled", "# Persistence\r\naof_enabled:1\r\n"), "m:1");
    expect(on).toMatchObject({ aof: true, save: undefined, source: "info" });
    expect(isPersistent(on)).toBe(true);
    const off = await readRedisPersistence(fakeClient("disabled", "# Persistence\r\naof_enabled:0\r\n"), "m:1");
    expect(isPersistent(off)).toBeUndefined();
    const none = await readRedisPersistence(fakeClient("disabled", "disabled"), "m:1");
    expect(none).toMatchObject({ aof: undefined, save: undefined, source: "none" });
  });

  it.each([
    { name: "AOF", nodes: [node({ aof: true })], production: true, allow: false, level: "ok" },
    { name: "RDB only", nodes: [node({ save: "60 1" })], production: true, allow: false, level: "ok" },
    { name: "none, development", nodes: [node({})], production: false, allow: false, level: "warn" },
    { name: "none, production", nodes: [node({})], production: true, allow: false, level: "refuse" },
    { name: "none, production, allowed", nodes: [node({})], production: true, allow: true, level: "warn" },
    {
      name: "CONFIG disabled, no AOF, production",
      nodes: [node({ save: undefined, source: "info" })],
      production: true,
      allow: false,
      level: "refuse",
    },
    {
      name: "one cluster master without",
      nodes: [node({ aof: true }), node({ node: "r2:6379" })],
      production: true,
      allow: false,
      level: "refuse",
    },
  ])("$name → $level", ({ nodes, production, allow, level }) => {
    const verdict = judgePersistence(nodes, { production, allowNoPersistence: allow });
    expect(verdict.level).toBe(level);
    if (level === "refuse") {
      expect(verdict.message).toMatch(/refusing to start/);
      expect(verdict.message).toContain("REDIS_ALLOW_NO_PERSISTENCE=true");
      expect(verdict.message).toContain("appendonly yes");
    }
    if (nodes.some((n) => n.save === "60 1")) expect(verdict.message).toMatch(/RDB only/);
  });
});
