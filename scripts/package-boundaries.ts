// Fails when a file reaches into another workspace package instead of going through its public surface
// (the "exports" of its package.json): a relative path that leaves the package, or "@pos/x/src/…".
// Run by scripts/test.sh: `node --import tsx scripts/package-boundaries.ts`.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface WorkspacePackage {
  name: string;
  /** Relative to the repository root, "/"-separated, e.g. "services/cart". */
  dir: string;
  /** The subpaths of package.json "exports" (".", "./testing", "./*"). */
  exports: string[];
  dependencies: string[];
}

export interface SourceFile {
  /** Relative to the repository root, "/"-separated. */
  path: string;
  text: string;
}

// import … from "x", export … from "x", import "x", import("x"), new URL("x", import.meta.url)
const specifierPatterns = [
  /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  /\bnew URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
];

export function specifiersOf(text: string): string[] {
  return specifierPatterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[1] ?? ""));
}

function owner(file: string, packages: readonly WorkspacePackage[]): WorkspacePackage | undefined {
  return packages.filter((p) => file.startsWith(`${p.dir}/`)).sort((a, b) => b.dir.length - a.dir.length)[0];
}

function exported(pkg: WorkspacePackage, subpath: string): boolean {
  return pkg.exports.some((key) => {
    const star = key.indexOf("*");
    if (star < 0) return key === subpath;
    return subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1));
  });
}

/** One message per import that crosses a package boundary other than through that package's exports. */
export function boundaryViolations(files: readonly SourceFile[], packages: readonly WorkspacePackage[]): string[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const problems: string[] = [];
  for (const file of files) {
    const from = owner(file.path, packages);
    for (const spec of specifiersOf(file.text)) {
      const where = `${file.path}: "${spec}"`;
      if (spec.startsWith(".")) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), spec));
        const to = owner(target, packages);
        if (to !== undefined && to !== from) {
          problems.push(`${where} reaches into ${to.name}'s files: import "${to.name}" or one of its exports`);
        }
        continue;
      }
      const [scope, name, ...rest] = spec.split("/");
      const pkg = byName.get(`${scope}/${name}`);
      if (pkg === undefined) continue;
      const subpath = rest.length === 0 ? "." : `./${rest.join("/")}`;
      if (rest[0] === "src" || rest[0] === "test" || !exported(pkg, subpath)) {
        problems.push(`${where} is not in ${pkg.name}'s exports (${pkg.exports.join(", ")})`);
      } else if (from !== undefined && from !== pkg && !from.dependencies.includes(pkg.name)) {
        problems.push(`${where}: ${from.name} does not declare ${pkg.name} in its package.json`);
      }
    }
  }
  return problems;
}

function readWorkspace(root: string): WorkspacePackage[] {
  const globs = readFileSync(path.join(root, "pnpm-workspace.yaml"), "utf8")
    .split("\n")
    .map((l) => /^\s+-\s*["']?([^"'\s]+)["']?\s*$/.exec(l)?.[1])
    .filter((g): g is string => g !== undefined && !g.includes(":"));
  const dirs = globs.flatMap((g) =>
    g.endsWith("/*")
      ? readdirSync(path.join(root, g.slice(0, -2)), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => `${g.slice(0, -2)}/${d.name}`)
      : [g],
  );
  return dirs
    .filter((dir) => existsSync(path.join(root, dir, "package.json")))
    .map((dir) => {
      const json = JSON.parse(readFileSync(path.join(root, dir, "package.json"), "utf8")) as {
        name: string;
        exports?: Record<string, string>;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      return {
        name: json.name,
        dir,
        exports: Object.keys(json.exports ?? {}),
        dependencies: Object.keys({ ...json.dependencies, ...json.devDependencies }),
      };
    });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const listed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "--", "*.ts"], {
    cwd: root,
    encoding: "utf8",
  });
  const files = listed
    .split("\n")
    .filter((f) => f !== "" && existsSync(path.join(root, f)))
    .map((f) => ({ path: f, text: readFileSync(path.join(root, f), "utf8") }));
  const problems = boundaryViolations(files, readWorkspace(root));
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`${problems.length} import(s) cross a package boundary outside its public surface`);
    process.exit(1);
  }
  console.log(`package boundaries: ${files.length} files, every cross-package import goes through exports`);
}
