import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyCorsOptions } from "@fastify/cors";
import type { EnvReader } from "./env-config.js";

/** Which web origins may call a service from a browser, and how long a browser may cache the preflight. */
export interface CorsSettings {
  /** Exact origins (`https://pos.example.com`), or `*` for any; empty: no cross-origin calls. */
  allowedOrigins: readonly string[];
  maxAgeSeconds: number;
}

// Beyond connect-es' own lists (Connect, gRPC-Web): our request id, and the headers a terminal will
// authenticate with, so that adding authentication does not also need a CORS change.
const extraAllowedHeaders = ["x-request-id", "authorization", "x-api-key"];
const extraExposedHeaders = ["x-request-id"];

export const corsAllowedHeaders: readonly string[] = [...connectCors.allowedHeaders, ...extraAllowedHeaders];
export const corsExposedHeaders: readonly string[] = [...connectCors.exposedHeaders, ...extraExposedHeaders];

/** CORS_ALLOWED_ORIGINS (comma-separated origins or `*`; unset = none) and CORS_MAX_AGE_SECONDS. */
export function readCorsSettings(r: EnvReader): CorsSettings {
  const raw = r.optionalString("CORS_ALLOWED_ORIGINS");
  const allowedOrigins: string[] = [];
  for (const entry of (raw ?? "").split(",").map((s) => s.trim())) {
    if (entry === "") continue;
    if (entry === "*" || isOrigin(entry)) allowedOrigins.push(entry);
    else r.problem(`CORS_ALLOWED_ORIGINS: "${entry}" is not an origin (scheme://host[:port], no path) or *`);
  }
  // 7200 s is the most Chromium honours (Firefox: 86400).
  return { allowedOrigins, maxAgeSeconds: r.int("CORS_MAX_AGE_SECONDS", 7200, 0, 86_400) };
}

function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

/**
 * @fastify/cors options: the allowed origins are reflected (with `Vary: Origin`); any other origin gets
 * no CORS headers at all, and its preflight is not answered (a 4xx), so the browser refuses the call.
 */
export function fastifyCorsOptions(settings: CorsSettings): FastifyCorsOptions {
  const anyOrigin = settings.allowedOrigins.includes("*");
  const allowed = new Set(settings.allowedOrigins);
  return {
    origin: (origin, callback) => callback(null, origin !== undefined && (anyOrigin || allowed.has(origin))),
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...corsAllowedHeaders],
    exposedHeaders: [...corsExposedHeaders],
    maxAge: settings.maxAgeSeconds,
    // No cookies: a terminal authenticates with a header, so credentials mode stays off.
    credentials: false,
  };
}
