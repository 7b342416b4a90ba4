import { ErrorReply } from "redis";

/** What one Redis server (a cluster: each master) says about keeping its data across a restart. */
export interface RedisPersistence {
  /** host:port, for the log. */
  node: string;
  /** appendonly yes/no; undefined when the server would not say. */
  aof: boolean | undefined;
  /** appendfsync (always, everysec, no) when known. */
  fsync: string | undefined;
  /** The RDB snapshot policy (`save`, "" = none); undefined when the server would not say. */
  save: string | undefined;
  /** How it was read: CONFIG GET, or INFO persistence where CONFIG is disabled (managed Redis). */
  source: "config" | "info" | "none";
}

/** The commands the check needs, as node-redis clients answer them. */
export interface PersistenceClient {
  configGet(parameters: string): Promise<Record<string, string>>;
  info(section: string): Promise<string>;
}

/**
 * Reads one server's persistence settings: CONFIG GET appendonly/appendfsync/save, or, where CONFIG is
 * disabled or renamed (managed services do that), INFO persistence, which tells AOF but not the RDB policy.
 */
export async function readRedisPersistence(client: PersistenceClient, node: string): Promise<RedisPersistence> {
  try {
    // One parameter per call: Redis before 7 takes a single pattern.
    const aof = (await client.configGet("appendonly")).appendonly;
    const fsync = (await client.configGet("appendfsync")).appendfsync;
    const save = (await client.configGet("save")).save;
    if (aof !== undefined && save !== undefined) return { node, aof: aof === "yes", fsync, save, source: "config" };
  } catch (e) {
    if (!(e instanceof ErrorReply)) throw e;
  }
  try {
    const info = await client.info("persistence");
    const aof = info.match(/^aof_enabled:(\d)/m)?.[1];
    if (aof !== undefined) return { node, aof: aof === "1", fsync: undefined, save: undefined, source: "info" };
  } catch (e) {
    if (!(e instanceof ErrorReply)) throw e;
  }
  return { node, aof: undefined, fsync: undefined, save: undefined, source: "none" };
}

/** true: AOF or an RDB policy; false: neither; undefined: the server would not say enough to tell. */
export function isPersistent(p: RedisPersistence): boolean | undefined {
  if (p.aof === true || (p.save !== undefined && p.save.trim() !== "")) return true;
  if (p.aof === false && p.save !== undefined) return false;
  return undefined;
}

export function describePersistence(p: RedisPersistence): string {
  const parts: string[] = [];
  if (p.aof !== undefined) parts.push(p.aof ? `AOF (appendfsync ${p.fsync ?? "unknown"})` : "no AOF");
  if (p.save !== undefined) parts.push(p.save.trim() === "" ? "no RDB snapshots" : `RDB save "${p.save}"`);
  if (p.source === "info") parts.push("RDB policy unknown: CONFIG is disabled");
  if (p.source === "none") parts.push("unknown: neither CONFIG nor INFO answered");
  return `${p.node}: ${parts.join(", ")}`;
}

export interface PersistenceVerdict {
  /** "ok": log at info; "warn": start, but say so loudly; "refuse": do not start. */
  level: "ok" | "warn" | "refuse";
  message: string;
}

/**
 * Carts are acknowledged writes: on a Redis that keeps nothing across a restart they all vanish at once
 * (issue 13: 218 carts, 642 lines, 208 billed sales). Development warns; production refuses to start
 * unless told that this is known and accepted.
 */
export function judgePersistence(
  nodes: readonly RedisPersistence[],
  mode: { production: boolean; allowNoPersistence: boolean },
): PersistenceVerdict {
  const weak = nodes.filter((n) => isPersistent(n) !== true);
  const all = nodes.map(describePersistence).join("; ");
  if (weak.length === 0) {
    const rdbOnly = nodes.some((n) => n.aof !== true);
    return {
      level: "ok",
      message: `Redis persistence: ${all}${rdbOnly ? " (RDB only: a crash loses the writes since the last snapshot)" : ""}`,
    };
  }
  const what = weak.some((n) => isPersistent(n) === false) ? "has no persistence" : "does not say whether it persists";
  const risk = `Redis ${what} (${weak.map(describePersistence).join("; ")}): a Redis restart would lose every cart`;
  const fix = "enable the append-only file (appendonly yes, appendfsync everysec) or RDB snapshots (save)";
  if (!mode.production) return { level: "warn", message: `${risk}; ${fix} before production` };
  if (mode.allowNoPersistence) {
    return { level: "warn", message: `${risk}; starting anyway because REDIS_ALLOW_NO_PERSISTENCE=true` };
  }
  return {
    level: "refuse",
    message: `${risk}. NODE_ENV=production: refusing to start; ${fix}, or set REDIS_ALLOW_NO_PERSISTENCE=true to accept losing carts`,
  };
}
