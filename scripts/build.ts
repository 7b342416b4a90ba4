// The deployable JavaScript: each service's main.ts and the workspace code it imports (@pos/*),
// compiled and bundled into dist/<service>/main.js; npm packages stay imports, installed beside it as
// production dependencies (`pnpm deploy --prod`, see Dockerfile). Usage: pnpm build
import { build, type Plugin } from "esbuild";

const services = {
  "master-data": "services/master-data/src/main.ts",
  cart: "services/cart/src/main.ts",
} as const;

// Bundle our own code (relative imports and @pos/* workspace packages), import everything else.
const npmPackagesExternal: Plugin = {
  name: "npm-packages-external",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@pos/") ? undefined : { path: args.path, external: true },
    );
  },
};

for (const [name, entry] of Object.entries(services)) {
  await build({
    entryPoints: [entry],
    outfile: `dist/${name}/main.js`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    plugins: [npmPackagesExternal],
    logLevel: "warning",
  });
  console.log(`dist/${name}/main.js`);
}
