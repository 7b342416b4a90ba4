// Authentication and authorization: ONE interceptor (interceptor.ts) over the policy table (policy.ts).
export * from "./api-key.js";
export * from "./audit.js";
export * from "./auth-config.js";
export * from "./authenticator.js";
export * from "./demo-credentials.js";
export * from "./file-key-store.js";
export * from "./interceptor.js";
export * from "./jwks.js";
export * from "./mongo-key-store.js";
export * from "./policy.js";
export * from "./principal.js";
export * from "./server-auth.js";
export * from "./tokens.js";
