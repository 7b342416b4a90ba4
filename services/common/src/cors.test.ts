import { describe, expect, it } from "vitest";
import { readCorsSettings } from "./cors.js";
import { ConfigError, createEnvReader } from "./env-config.js";

function read(env: Record<string, string>) {
  const r = createEnvReader(env);
  const settings = readCorsSettings(r);
  r.done();
  return settings;
}

describe("CORS settings", () => {
  it("allows no origin by default, and caches preflights for 7200 s", () => {
    expect(read({})).toEqual({ allowedOrigins: [], maxAgeSeconds: 7200 });
  });

  it("reads a comma-separated list of origins, or *", () => {
    expect(
      read({ CORS_ALLOWED_ORIGINS: " http://127.0.0.1:8004, https://pos.example.com ", CORS_MAX_AGE_SECONDS: "60" }),
    ).toEqual({ allowedOrigins: ["http://127.0.0.1:8004", "https://pos.example.com"], maxAgeSeconds: 60 });
    expect(read({ CORS_ALLOWED_ORIGINS: "*" }).allowedOrigins).toEqual(["*"]);
  });

  it("names every entry that is not an origin", () => {
    expect(() => read({ CORS_ALLOWED_ORIGINS: "https://pos.example.com/app,pos.example.com,http://ok:1" })).toThrow(
      ConfigError,
    );
    try {
      read({ CORS_ALLOWED_ORIGINS: "https://pos.example.com/app,pos.example.com,http://ok:1" });
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([
        'CORS_ALLOWED_ORIGINS: "https://pos.example.com/app" is not an origin (scheme://host[:port], no path) or *',
        'CORS_ALLOWED_ORIGINS: "pos.example.com" is not an origin (scheme://host[:port], no path) or *',
      ]);
    }
  });
});
