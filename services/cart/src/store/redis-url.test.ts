import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "./redis-url.js";

describe("REDIS_URL", () => {
  it.each([
    ["redis://127.0.0.1:6379", { kind: "single", url: "redis://127.0.0.1:6379" }],
    ["rediss://user:pw@cache:6380/2", { kind: "single", url: "rediss://user:pw@cache:6380/2" }],
    [
      "redis-cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
      {
        kind: "cluster",
        nodeUrls: ["redis://127.0.0.1:7000", "redis://127.0.0.1:7001", "redis://127.0.0.1:7002"],
        credentials: {},
      },
    ],
    [
      "rediss-cluster://pos:p%40ss@redis-a:6379,redis-b:6379/",
      {
        kind: "cluster",
        nodeUrls: ["rediss://redis-a:6379", "rediss://redis-b:6379"],
        credentials: { username: "pos", password: "p@ss" },
      },
    ],
  ])("%s", (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ["http://x", /must start with redis:\/\//],
    ["redis-cluster://user:secret@", /cluster nodes must be host:port/],
    ["redis-cluster://a:1,b", /got "b"/],
    ["mongodb://user:secret@x", /got "mongodb:\/\/\*\*\*@x"/],
  ])("refuses %s", (url, problem) => {
    const parsed = parseRedisUrl(url);
    expect(parsed.kind).toBe("invalid");
    expect(parsed.kind === "invalid" ? parsed.problem : "").toMatch(problem);
  });
});
