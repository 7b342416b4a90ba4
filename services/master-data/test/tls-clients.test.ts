import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createTestCa, type ServiceProcess, spawnService, writePemFiles } from "@pos/common/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masterDataMain } from "../src/testing/index.js";

// The real master-data process requiring client certificates, called by the tools a person uses:
// curl (HTTP/1.1 and h2 by ALPN) and grpcurl (grpc-go), with -cacert/-cert/-key as the README shows.

const run = promisify(execFile);
const grpcurl = `${homedir()}/go/bin/grpcurl`;
const request = JSON.stringify({ tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0003" });

let dir: string;
let f: Record<
  "ca.pem" | "server.pem" | "server-key.pem" | "client.pem" | "client-key.pem" | "stranger.pem" | "stranger-key.pem",
  string
>;
let md: ServiceProcess;
let port: number;

beforeAll(async () => {
  const ca = createTestCa();
  const server = ca.issue({ commonName: "localhost", usage: ["server"] });
  const client = ca.issue({ commonName: "dev-client", usage: ["client"] });
  const stranger = createTestCa("another CA").issue({ commonName: "stranger", usage: ["client"] });
  dir = mkdtempSync(join(tmpdir(), "md-tls-clients-"));
  f = writePemFiles(dir, {
    "ca.pem": ca.cert,
    "server.pem": server.cert,
    "server-key.pem": server.key,
    "client.pem": client.cert,
    "client-key.pem": client.key,
    "stranger.pem": stranger.cert,
    "stranger-key.pem": stranger.key,
  });
  md = spawnService(masterDataMain, {
    MASTER_DATA_PORT: "0",
    LOG_LEVEL: "info",
    TLS_CERT_FILE: f["server.pem"],
    TLS_KEY_FILE: f["server-key.pem"],
    TLS_CLIENT_CA_FILE: f["ca.pem"],
  });
  port = await md.port(30_000);
}, 60_000);
afterAll(async () => {
  await md?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const withCert = () => ["--cacert", f["ca.pem"], "--cert", f["client.pem"], "--key", f["client-key.pem"]];

describe("master-data with mTLS, called by curl and grpcurl", () => {
  it.each([
    ["--http1.1", "1.1"],
    ["--http2", "2"],
  ])("curl %s: Connect JSON with a client certificate; ALPN gives HTTP/%s", async (flag, version) => {
    const { stdout } = await run("curl", [
      "-sS",
      "--fail-with-body",
      flag,
      ...withCert(),
      "-H",
      "content-type: application/json",
      "-d",
      request,
      "-w",
      "\\n%{http_version}",
      `https://127.0.0.1:${port}/pos.masterdata.v1.ItemService/GetItemDetail`,
    ]);
    const [body, seen] = stdout.split("\n");
    expect(JSON.parse(body ?? "").item.itemCode).toBe("ITEM0003");
    expect(seen).toBe(version);
  });

  it("curl without a client certificate, or with another CA's, is refused at the handshake", async () => {
    const url = `https://127.0.0.1:${port}/healthz`;
    await expect(run("curl", ["-sS", "--cacert", f["ca.pem"], url])).rejects.toThrow();
    await expect(
      run("curl", ["-sS", "--cacert", f["ca.pem"], "--cert", f["stranger.pem"], "--key", f["stranger-key.pem"], url]),
    ).rejects.toThrow();
  });

  const tls = () => ["-cacert", f["ca.pem"], "-cert", f["client.pem"], "-key", f["client-key.pem"]];

  it("grpcurl -cacert/-cert/-key: lists the services through reflection and calls GetItemDetail", async () => {
    const list = await run(grpcurl, [...tls(), `127.0.0.1:${port}`, "list"]);
    expect(list.stdout).toContain("pos.masterdata.v1.ItemService");
    const { stdout } = await run(grpcurl, [
      ...tls(),
      "-d",
      request,
      `127.0.0.1:${port}`,
      "pos.masterdata.v1.ItemService/GetItemDetail",
    ]);
    expect(JSON.parse(stdout).item.itemCode).toBe("ITEM0003");
  });

  it("grpcurl without a client certificate cannot connect", async () => {
    // grpc-go sees TLS 1.3's late alert as a failed dial and retries until its connect timeout.
    const err = await run(grpcurl, [
      "-connect-timeout",
      "3",
      "-cacert",
      f["ca.pem"],
      `127.0.0.1:${port}`,
      "list",
    ]).catch((e: { code?: number; stderr?: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect(String((err as { stderr?: string }).stderr)).toMatch(/Failed to dial target host/);
  });
});
