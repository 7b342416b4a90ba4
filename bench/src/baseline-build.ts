import { execFile } from "node:child_process";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);

/**
 * An earlier commit of this repository, unpacked and installed beside the live tree, so that a
 * bench can run ITS master-data and cart in the same run as today's: "n× faster than before" is
 * then a ratio measured on one machine at one load, not against a number from another day.
 */
export interface BaselineBuild {
  /** The commit as given (a short hash). */
  rev: string;
  dir: string;
  masterDataEntry: string;
  cartEntry: string;
}

/**
 * Unpacks `rev` with `git archive` into `.cache/baseline/<rev>` and installs its locked
 * dependencies once (pnpm, from the registry or its store); instant when already there. The
 * services run from TypeScript through tsx, as that commit's own bench ran them.
 */
export async function prepareBaseline(rev: string, say: (line: string) => void): Promise<BaselineBuild> {
  if (!/^[0-9a-f]{7,40}$/.test(rev)) throw new Error(`baseline: "${rev}" is not a commit hash`);
  const dir = path.join(repoRoot, ".cache/baseline", rev);
  const ready = path.join(dir, ".installed");
  const build: BaselineBuild = {
    rev,
    dir,
    masterDataEntry: path.join(dir, "services/master-data/src/main.ts"),
    cartEntry: path.join(dir, "services/cart/src/main.ts"),
  };
  if (await exists(ready)) return build;
  await run("git", ["cat-file", "-e", `${rev}^{commit}`], { cwd: repoRoot }).catch(() => {
    throw new Error(`baseline: commit ${rev} is not in this clone's history (a shallow clone?)`);
  });
  say(`baseline: unpacking ${rev} into ${path.relative(repoRoot, dir)} and installing its dependencies (once)`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const tarball = `${dir}.tar`;
  await run("git", ["archive", "--format=tar", `--output=${tarball}`, rev], { cwd: repoRoot });
  await run("tar", ["-xf", tarball, "-C", dir]);
  await rm(tarball, { force: true });
  // Its own lockfile, so the old build runs the library versions it was measured with.
  await run("pnpm", ["install", "--frozen-lockfile", "--reporter=silent", "--config.confirmModulesPurge=false"], {
    cwd: dir,
    env: { ...process.env, CI: "true" },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: unknown) => {
    const err = e as { stderr?: string; message?: string };
    throw new Error(`baseline: pnpm install in ${dir} failed: ${(err.stderr ?? err.message ?? "").slice(-800)}`);
  });
  await writeFile(ready, `${new Date().toISOString()}\n`);
  return build;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
