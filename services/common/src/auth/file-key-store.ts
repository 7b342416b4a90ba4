import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ApiKeyRecord, ApiKeyStore } from "./api-key.js";
import { isRole } from "./principal.js";

interface KeyFile {
  version: 1;
  keys: ApiKeyRecord[];
}

/**
 * API keys in one JSON file (the embedded default). Lookups are served from memory; the file's
 * mtime and size are checked at most every `checkEveryMs`, and a changed file is read again, so a
 * key revoked by the CLI (or by hand) is refused within that time, without a restart. Writes go to
 * a temporary file renamed over the old one: a reader never sees half a file.
 */
export function createFileKeyStore(path: string, options: { checkEveryMs?: number } = {}): ApiKeyStore {
  const checkEveryMs = options.checkEveryMs ?? 1000;
  let byId = new Map<string, ApiKeyRecord>();
  let seen = "";
  let checkedAt = 0;
  let reading: Promise<void> | undefined;

  async function reload(): Promise<void> {
    const version = await stat(path).then(
      (s) => `${s.mtimeMs}:${s.size}:${s.ino}`,
      () => "missing",
    );
    if (version === seen) return;
    const records = await readRecords(path);
    byId = new Map(records.map((r) => [r.id, r]));
    seen = version;
  }

  async function fresh(): Promise<void> {
    if (Date.now() - checkedAt < checkEveryMs && seen !== "") return;
    reading ??= reload().finally(() => {
      checkedAt = Date.now();
      reading = undefined;
    });
    await reading;
  }

  async function rewrite(change: (records: ApiKeyRecord[]) => ApiKeyRecord[]): Promise<void> {
    const records = change(await readRecords(path));
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    const file: KeyFile = { version: 1, keys: records };
    await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
    checkedAt = 0;
    seen = "";
  }

  return {
    async find(id) {
      await fresh();
      return byId.get(id);
    },
    async add(record) {
      await rewrite((records) => {
        if (records.some((r) => r.id === record.id)) throw new Error(`API key ${record.id} already exists`);
        return [...records, record];
      });
    },
    async list(tenant) {
      const records = await readRecords(path);
      return records.filter((r) => tenant === undefined || r.tenant === tenant);
    },
    async revoke(id, at = new Date()) {
      let found = false;
      await rewrite((records) =>
        records.map((r) => {
          if (r.id !== id) return r;
          found = true;
          return r.revokedAt === undefined ? { ...r, revokedAt: at.toISOString() } : r;
        }),
      );
      return found;
    },
    async close() {},
  };
}

async function readRecords(path: string): Promise<ApiKeyRecord[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const parsed: unknown = JSON.parse(text);
  const keys = (parsed as Partial<KeyFile> | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`API key file ${path} has no "keys" list`);
  return keys.map((k, i) => checkRecord(k, `${path}: keys[${i}]`));
}

/** A record read from outside (file, database) as the type says, or an error naming what is wrong. */
export function checkRecord(value: unknown, where: string): ApiKeyRecord {
  const r = value as Record<string, unknown> | null;
  const text = (name: string): string => {
    const v = r?.[name];
    if (typeof v !== "string") throw new Error(`${where}: ${name} must be a string`);
    return v;
  };
  const roleList = r?.roles;
  if (!Array.isArray(roleList) || !roleList.every(isRole)) throw new Error(`${where}: roles must be a list of roles`);
  const revokedAt = r?.revokedAt;
  return {
    id: text("id"),
    hash: text("hash"),
    tenant: text("tenant"),
    store: text("store"),
    terminal: text("terminal"),
    roles: roleList,
    label: typeof r?.label === "string" ? r.label : "",
    createdAt: text("createdAt"),
    ...(typeof revokedAt === "string" && { revokedAt }),
  };
}
