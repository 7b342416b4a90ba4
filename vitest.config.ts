import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "services/*/src/**/*.test.ts",
      "services/*/test/**/*.test.ts",
      "bench/src/**/*.test.ts",
      "interop/test/**/*.test.ts",
      "web/*/test/**/*.test.ts",
      "scripts/**/*.test.ts",
    ],
    // A bound against hangs, not a speed claim: the MongoDB-wire contract suites are slow on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Server tests bind port 0 and Mongo tests use their own database, so files may run in parallel;
    // two workers match the two cores.
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
    // On with --coverage (scripts/test.sh passes it). V8's own counters: no instrumentation step. Code
    // that runs only in a spawned service process (main.ts files) is not counted.
    coverage: {
      provider: "v8",
      include: ["services/*/src/**/*.ts", "bench/src/**/*.ts", "scripts/**/*.ts"],
      exclude: ["**/*.test.ts", "**/*.contract.ts", "**/*.fixtures.ts", "**/testing/**"],
      reporter: ["text-summary"],
      reportOnFailure: true,
      reportsDirectory: ".cache/coverage",
    },
  },
});
