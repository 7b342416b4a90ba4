import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Static files only: the page reads its cart URL from /config.json at run time, so one build serves any site.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
