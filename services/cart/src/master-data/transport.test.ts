import { describe, expect, it } from "vitest";
import {
  checkTransportConfig,
  createMasterDataTransport,
  everyTransportConfig,
  type MasterDataTransportConfig,
} from "./transport.js";

const good: MasterDataTransportConfig = {
  url: "http://127.0.0.1:8002",
  protocol: "grpc",
  httpVersion: "2",
  format: "binary",
};

describe("master-data transport config", () => {
  it.each([
    ["connect", "1.1", "json"],
    ["connect", "1.1", "binary"],
    ["connect", "2", "binary"],
    ["grpc", "2", "binary"],
    ["grpc-web", "1.1", "binary"],
    ["grpc-web", "2", "json"],
  ] as const)("accepts %s over HTTP/%s (%s)", (protocol, httpVersion, format) => {
    expect(checkTransportConfig({ ...good, protocol, httpVersion, format })).toEqual([]);
    const t = createMasterDataTransport({ ...good, protocol, httpVersion, format });
    expect(t.describe).toBe(`${protocol} over HTTP/${httpVersion} (${format}, fast client) to http://127.0.0.1:8002`);
    t.close();
  });

  it.each(["fast", "connect-node"] as const)("builds the %s client", (client) => {
    const t = createMasterDataTransport({ ...good, client });
    expect(t.describe).toBe(`grpc over HTTP/2 (binary, ${client} client) to http://127.0.0.1:8002`);
    t.close();
  });

  it("rejects an unknown client", () => {
    expect(checkTransportConfig({ ...good, client: "undici" } as unknown as MasterDataTransportConfig)).toEqual([
      expect.stringMatching(/client must be one of fast, connect-node, got "undici"/),
    ]);
  });

  it("rejects gRPC over HTTP/1.1 at start-up with a clear error", () => {
    const bad = { ...good, httpVersion: "1.1" } as const;
    expect(checkTransportConfig(bad)).toEqual([expect.stringMatching(/grpc needs HTTP\/2/)]);
    expect(() => createMasterDataTransport(bad)).toThrow(/invalid master-data transport config: .*grpc needs HTTP\/2/);
  });

  it("reports every problem at once", () => {
    const problems = checkTransportConfig({
      url: "ftp//nowhere",
      protocol: "soap",
      httpVersion: "3",
      format: "xml",
    } as unknown as MasterDataTransportConfig);
    expect(problems).toHaveLength(4);
    expect(problems.join("\n")).toMatch(/url.*protocol.*HTTP version.*format/s);
  });

  it("rejects a non-HTTP URL", () => {
    expect(checkTransportConfig({ ...good, url: "redis://localhost:6379" })).toEqual([
      expect.stringMatching(/must use http:\/\/ or https:\/\//),
    ]);
  });

  it("lists every config it can build, and only those (what the interop suites iterate)", () => {
    const all = everyTransportConfig("http://127.0.0.1:8002");
    const names = all.map((c) => `${c.protocol}/${c.httpVersion}/${c.format}/${c.client}`);
    expect(new Set(names).size).toBe(names.length);
    // 3 protocols × 2 HTTP versions × 2 formats × 2 clients, less gRPC over HTTP/1.1.
    expect(names).toHaveLength(20);
    expect(names).not.toContain("grpc/1.1/binary/fast");
    for (const config of all) expect(checkTransportConfig(config)).toEqual([]);
  });
});
