// `pnpm keys create|list|revoke|demo`: terminal API keys (README: authentication). Reads the same
// AUTH_* variables as the services; with none set, the embedded default's files in .cache/demo-auth.
import { userInfo } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEnvReader } from "../env-config.js";
import { type ApiKeyStore, newApiKey } from "./api-key.js";
import { audit } from "./audit.js";
import { readAuthSettings } from "./auth-config.js";
import { provisionDemoCredentials } from "./demo-credentials.js";
import { createFileKeyStore } from "./file-key-store.js";
import { connectMongoKeyStore } from "./mongo-key-store.js";
import { isRole, type Role } from "./principal.js";

const usage = `usage:
  pnpm keys create --tenant T0001 --store S0001 --terminal R01 [--roles terminal,staff] [--label "front till"]
  pnpm keys list [--tenant T0001]
  pnpm keys revoke <key id>
  pnpm keys demo [dir]    (what ./scripts/start.sh runs: the demo credentials, as shell exports)`;

const demoDir = join(process.cwd(), ".cache", "demo-auth");

// Key changes are audited like the services' writes: one JSON line, who/what/when, never the key.
const auditLog = {
  info: (obj: object, msg: string) => process.stderr.write(`${JSON.stringify({ level: 30, ...obj, msg })}\n`),
};
const operator = { kind: "operator" as const, subject: userInfo().username };

async function openStore(): Promise<{ store: ApiKeyStore; secret: Buffer }> {
  const env = { ...process.env };
  if (env.AUTH_API_KEY_SECRET_FILE === undefined) {
    env.AUTH_API_KEY_SECRET_FILE = join(demoDir, "api-key-secret");
    env.AUTH_API_KEYS_FILE ??= join(demoDir, "api-keys.json");
  }
  const r = createEnvReader(env);
  const settings = readAuthSettings(r, env.MONGODB_URI);
  r.done();
  const keys = settings.apiKeys;
  if (keys === undefined) throw new Error("no API key store configured");
  const store =
    keys.store.kind === "file"
      ? createFileKeyStore(keys.store.file, { checkEveryMs: 0 })
      : await connectMongoKeyStore(keys.store.uri, { database: keys.store.database, timeoutMs: 5000, cacheTtlMs: 1 });
  return { store, secret: keys.secret };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      tenant: { type: "string" },
      store: { type: "string" },
      terminal: { type: "string" },
      roles: { type: "string", default: "terminal" },
      label: { type: "string", default: "" },
    },
  });
  if (command === "demo") {
    const demo = await provisionDemoCredentials(positionals[0] ?? demoDir);
    for (const [name, value] of Object.entries(demo.env)) process.stdout.write(`export ${name}='${value}'\n`);
    if (demo.created.length > 0) {
      audit(auditLog, {
        who: operator,
        what: "demo credentials",
        fields: { made: demo.created.join(", ") },
        outcome: "ok",
      });
    }
    return 0;
  }
  if (command !== "create" && command !== "list" && command !== "revoke") {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const { store, secret } = await openStore();
  try {
    if (command === "create") {
      const { tenant, store: storeCode, terminal } = values;
      const roles = (values.roles ?? "terminal").split(",").map((s) => s.trim());
      if (tenant === undefined || storeCode === undefined || terminal === undefined) {
        process.stderr.write(`create needs --tenant, --store and --terminal\n${usage}\n`);
        return 2;
      }
      const bad = roles.filter((role) => !isRole(role) || role === "admin" || role === "service");
      if (bad.length > 0) {
        process.stderr.write(
          `--roles may name terminal and staff (admins and services use tokens), got ${bad.join(", ")}\n`,
        );
        return 2;
      }
      const made = newApiKey(secret, {
        tenant,
        store: storeCode,
        terminal,
        roles: roles as Role[],
        label: values.label,
      });
      await store.add(made.record);
      audit(auditLog, {
        who: operator,
        what: "api key created",
        fields: { keyId: made.record.id, tenant, store: storeCode, terminal, roles: roles.join(",") },
        outcome: "ok",
      });
      process.stderr.write(
        `API key ${made.record.id} for ${tenant} / ${storeCode} / ${terminal} (${roles.join(", ")}); shown this once:\n`,
      );
      process.stdout.write(`${made.key}\n`);
      return 0;
    }
    if (command === "list") {
      for (const r of await store.list(values.tenant)) {
        const state = r.revokedAt === undefined ? "active" : `revoked ${r.revokedAt}`;
        process.stdout.write(
          `${r.id}  ${r.tenant}/${r.store}/${r.terminal}  ${r.roles.join(",")}  created ${r.createdAt}  ${state}  ${r.label}\n`,
        );
      }
      return 0;
    }
    const id = positionals[0];
    if (id === undefined) {
      process.stderr.write(`revoke needs a key id\n${usage}\n`);
      return 2;
    }
    const found = await store.revoke(id);
    audit(auditLog, {
      who: operator,
      what: "api key revoked",
      fields: { keyId: id },
      outcome: found ? "ok" : "not_found",
    });
    if (!found) process.stderr.write(`no API key ${id}\n`);
    return found ? 0 : 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  return 1;
});
