import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { testAuth } from "@pos/common/testing";
import { type RunningMasterData, startMasterData } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningTestServer, startTestServer } from "../src/test-server.js";
import { interopTool, pinnedVersion } from "./tools.js";

const run = promisify(execFile);

interface PeerResult {
  name: string;
  ok: boolean;
  error?: string;
  /** Each HTTP request of the case as "METHOD HTTP/x content-type", as connect-go saw it. */
  wire?: string[];
}

// The case names come from the Go program itself, so the two lists cannot drift apart.
function caseNames(): string[] {
  try {
    return JSON.parse(execFileSync(interopTool("connect-peer"), ["cases"], { encoding: "utf8" })) as string[];
  } catch (err) {
    return [`connect-peer cases: ${(err as Error).message}`];
  }
}

/** What every request of a case must look like on the wire, from the config part of its name. */
function wirePattern(config: string): RegExp {
  const [protocolCodec, http, get] = config.split("/");
  const [protocol, codec] = protocolCodec!.split("+");
  // "-": no response came (a deadline case), so no HTTP version to see.
  const version = http === "h2" ? "(HTTP/2\\.0|-)" : "(HTTP/1\\.1|-)";
  if (get === "GET") return new RegExp(`^GET ${version} $`);
  const type =
    protocol === "connect"
      ? `application/(connect\\+)?${codec}`
      : protocol === "grpc"
        ? `application/grpc${codec === "proto" ? "(\\+proto)?" : "\\+json"}`
        : `application/grpc-web\\+${codec}`;
  return new RegExp(`^POST ${version} ${type}$`);
}

// Our stack answers plain unary calls on its fast path and everything else through connect-fastify;
// both are run, the second with the fast path off.
const paths = [
  { path: "unary fast path on", unaryFastPath: true },
  { path: "connect-fastify only", unaryFastPath: false },
];

describe.each(paths)(
  `connect-go ${pinnedVersion("connectrpc.com/connect")} as the client → our stack (TestService host, master-data), $path`,
  ({ unaryFastPath }) => {
    let testServer: RunningTestServer;
    let masterData: RunningMasterData;
    const results = new Map<string, PeerResult>();

    beforeAll(async () => {
      const peer = interopTool("connect-peer");
      [testServer, masterData] = await Promise.all([
        startTestServer({ unaryFastPath }),
        startMasterData({ unaryFastPath }),
      ]);
      // One process runs every case (a fresh connection each): build once, start once.
      const { stdout } = await run(
        peer,
        [
          "client",
          "-test-service",
          testServer.baseUrl,
          "-master-data",
          masterData.baseUrl,
          // master-data's RPCs need a credential: this file's admin token of T0001.
          "-master-data-authorization",
          testAuth.adminBearer,
        ],
        {
          maxBuffer: 16 * 1024 * 1024,
          timeout: 120_000,
        },
      );
      for (const line of stdout.split("\n")) {
        if (line.trim() === "") continue;
        const result = JSON.parse(line) as PeerResult;
        results.set(result.name, result);
      }
    }, 150_000);
    afterAll(async () => {
      await testServer?.close();
      await masterData?.close();
    });

    for (const name of caseNames()) {
      const config = name.split(" ")[0]!;
      it(name, () => {
        expect(existsSync(interopTool("connect-peer"))).toBe(true);
        const result = results.get(name);
        expect(result, "connect-peer reported nothing for this case").toBeDefined();
        expect(result!.error ?? "").toBe("");
        expect(result!.ok).toBe(true);
        expect(result!.wire?.length ?? 0).toBeGreaterThan(0);
        for (const request of result!.wire!) expect(request).toMatch(wirePattern(config));
      });
    }
  },
);
