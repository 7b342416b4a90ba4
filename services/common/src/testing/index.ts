// "@pos/common/testing": helpers for the test suites of every package (real processes, real servers).
export * from "./auth.js";
export * from "./config-problems.js";
export * from "./connect-errors.js";
export * from "./ferretdb.js";
export * from "./mongo-suite.js";
export * from "./redis-suite.js";
export * from "./schema-services.js";
export * from "./spawn-service.js";
export * from "./test-pki.js";
