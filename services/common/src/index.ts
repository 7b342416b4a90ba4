// The public surface of @pos/common: what both services build on. Test helpers are in "@pos/common/testing".
// First: V8 settings that must be in place before anything else runs (see v8-tuning.ts).
import "./v8-tuning.js";

export * from "./auth/index.js";
export * from "./connect-app.js";
export * from "./connection-limits.js";
export * from "./cors.js";
export * from "./env-config.js";
export * from "./errors.js";
export * from "./field-checks.js";
export * from "./frozen-messages.js";
export * from "./health.js";
export * from "./limit-log.js";
export * from "./metrics.js";
export * from "./mongo.js";
export * from "./one-port-server.js";
export * from "./peer-identity.js";
export * from "./rate-limit.js";
export * from "./rate-limit-interceptors.js";
export * from "./reflection.js";
export * from "./remote-address.js";
export * from "./request-log.js";
export * from "./run-service.js";
export * from "./server-config.js";
export * from "./store-errors.js";
export * from "./string-bounds.js";
export * from "./telemetry.js";
export * from "./tls-files.js";
export * from "./tracing.js";
