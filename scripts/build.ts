import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

// `pnpm build`: compiles each service's entry point to JavaScript (services/<name>/dist/main.js)
// that plain `node` runs, without tsx. Our workspace packages (@pos/*) are bundled in; every npm
// dependency stays an import of the very file it resolves to from the package that imports it
// (pnpm gives each package its own dependencies), written relative to dist/.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entries = ["services/master-data/src/main.ts", "services/cart/src/main.ts"];

function npmDependenciesStayExternal(outDir: string): Plugin {
  return {
    name: "npm-dependencies-stay-external",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith("@pos/") || args.path.startsWith("node:") || args.pluginData === "inner") return;
        const found = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: "inner" });
        if (found.errors.length > 0) return { errors: found.errors };
        if (found.external || !path.isAbsolute(found.path)) return { path: args.path, external: true };
        return { path: `./${path.relative(outDir, found.path)}`.replace(/^\.\/\.\.\//, "../"), external: true };
      });
    },
  };
}

const started = performance.now();
await Promise.all(
  entries.map((entry) => {
    const outfile = path.join(repoRoot, entry.replace("/src/", "/dist/").replace(/\.ts$/, ".js"));
    return build({
      entryPoints: [path.join(repoRoot, entry)],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: `node${process.versions.node.split(".")[0]}`,
      sourcemap: true,
      logLevel: "warning",
      plugins: [npmDependenciesStayExternal(path.dirname(outfile))],
    });
  }),
);
process.stderr.write(`build: ${entries.length} entry points in ${Math.round(performance.now() - started)} ms\n`);
