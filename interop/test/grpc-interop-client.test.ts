import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningTestServer, startTestServer } from "../src/test-server.js";
import { interopTool, pinnedVersion } from "./tools.js";

const run = promisify(execFile);

// Every case of the official client (interop/client/client.go) whose RPC kinds connect-es serves.
// Not run (see README, Tests): the credential cases (compute_engine_creds, service_account_creds,
// jwt_token_creds, per_rpc_creds, oauth2_auth_token, google_default_credentials,
// compute_engine_channel_credentials: they need TLS and Google Cloud accounts) and orca_per_rpc /
// orca_oob (xDS load reports: a custom load-balancing policy, an OrcaLoadReport trailer and the
// OpenRcaService stream, none of which connect-es has).
const cases = [
  "empty_unary",
  "large_unary",
  "client_streaming",
  "server_streaming",
  "ping_pong",
  "empty_stream",
  "timeout_on_sleeping_server",
  "cancel_after_begin",
  "cancel_after_first_response",
  "status_code_and_message",
  "special_status_message",
  "custom_metadata",
  "unimplemented_method",
  "unimplemented_service",
  "pick_first_unary",
  "rpc_soak",
  "channel_soak",
];

// Our stack answers plain unary calls on its fast path and everything else through connect-fastify;
// both are run, the second with the fast path off.
const paths = [
  { path: "unary fast path on", unaryFastPath: true },
  { path: "connect-fastify only", unaryFastPath: false },
];

describe.each(paths)(
  `official gRPC interop client (grpc-go ${pinnedVersion("google.golang.org/grpc")}) → TestService on our stack, h2c, $path`,
  ({ unaryFastPath }) => {
    let server: RunningTestServer;
    let client: string;
    beforeAll(async () => {
      client = interopTool("grpc-interop-client");
      server = await startTestServer({ unaryFastPath });
    });
    afterAll(() => server?.close());

    for (const testCase of cases) {
      it(testCase, async () => {
        const args = [
          "--server_host=127.0.0.1",
          `--server_port=${server.port}`,
          "--use_tls=false",
          `--test_case=${testCase}`,
          // The soak cases judge each call's latency (1 s by default); on 2 shared cores that is noise,
          // not correctness, so only their results count here.
          "--soak_per_iteration_max_acceptable_latency_ms=60000",
          "--soak_overall_timeout_seconds=60",
        ];
        const outcome = await run(client, args, { timeout: 90_000 }).then(
          () => ({ ok: true, output: "" }),
          (err: { stdout?: string; stderr?: string; message: string }) => ({
            ok: false,
            output: `${err.message}\n${err.stdout ?? ""}${err.stderr ?? ""}`,
          }),
        );
        expect(outcome.ok, outcome.output).toBe(true);
      }, 120_000);
    }
  },
);
