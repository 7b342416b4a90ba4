import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { apiKeyMatches } from "./api-key.js";
import { createFileKeyStore } from "./file-key-store.js";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("./keys-cli.ts", import.meta.url));

// `pnpm keys` as an operator runs it: a real process on a key file and its secret.
describe("pnpm keys", () => {
  const dir = mkdtempSync(join(tmpdir(), "pos-keys-cli-"));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AUTH_API_KEY_SECRET_FILE: join(dir, "secret"),
    AUTH_API_KEYS_FILE: join(dir, "api-keys.json"),
  };
  writeFileSync(env.AUTH_API_KEY_SECRET_FILE, "cli-test-secret-cli-test-secret-0123456789");
  const keys = (...args: string[]) => run(process.execPath, ["--import", "tsx", cli, ...args], { env });

  it("create prints the key once (stdout), stores only its hash, audits the change; list and revoke follow", async () => {
    const made = await keys(
      "create",
      "--tenant",
      "T0001",
      "--store",
      "S0001",
      "--terminal",
      "R02",
      "--roles",
      "terminal,staff",
    );
    const key = made.stdout.trim();
    expect(key).toMatch(/^pos_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const id = key.split("_")[1] ?? "";
    expect(made.stderr).toContain(`API key ${id} for T0001 / S0001 / R02 (terminal, staff); shown this once`);
    const auditLine = JSON.parse(made.stderr.split("\n").find((l) => l.includes('"audit"')) ?? "{}");
    expect(auditLine.audit).toMatchObject({ what: "api key created", keyId: id, tenant: "T0001", outcome: "ok" });
    const file = readFileSync(env.AUTH_API_KEYS_FILE, "utf8");
    expect(file).not.toContain(key.slice(17));
    const record = await createFileKeyStore(env.AUTH_API_KEYS_FILE).find(id);
    expect(record && apiKeyMatches(Buffer.from(readFileSync(env.AUTH_API_KEY_SECRET_FILE, "utf8")), key, record)).toBe(
      true,
    );

    const listed = await keys("list", "--tenant", "T0001");
    expect(listed.stdout).toMatch(new RegExp(`^${id}  T0001/S0001/R02  terminal,staff  created \\S+  active`, "m"));
    const revoked = await keys("revoke", id);
    expect(revoked.stderr).toContain('"what":"api key revoked"');
    expect((await keys("list")).stdout).toMatch(new RegExp(`^${id} .* revoked \\d{4}-`, "m"));
    await expect(keys("revoke", "ffffffffffff")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("no API key ffffffffffff"),
    });
  });

  it("refuses what would be a wrong key: missing bindings, admin or service roles", async () => {
    await expect(keys("create", "--tenant", "T0001")).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("create needs --tenant, --store and --terminal"),
    });
    await expect(
      keys("create", "--tenant", "T0001", "--store", "S1", "--terminal", "R1", "--roles", "admin"),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--roles may name terminal and staff"),
    });
    await expect(keys("nonsense")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("usage:") });
  });
});
