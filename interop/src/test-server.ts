import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createAuthenticator, createConnectApp, openServices } from "@pos/common";
import { TestService } from "@pos/gen/interop/grpc/testing/test_pb.js";
import type { FastifyInstance } from "fastify";
import { createTestService } from "./test-service.js";

export interface RunningTestServer {
  app: FastifyInstance;
  port: number;
  baseUrl: string;
  close(): Promise<void>;
}

// The interop cases send messages up to ~300 KB; a few MB leave room for the large-message cases.
const readMaxBytes = 8 * 1024 * 1024;

/**
 * Test only: grpc.testing.TestService on OUR server stack (createConnectApp: the one-port
 * HTTP/1.1 + h2c listener, fastify, our interceptors), so that suites written by others test it.
 */
export async function startTestServer(
  options: { host?: string; port?: number; unaryFastPath?: boolean } = {},
): Promise<RunningTestServer> {
  const app = await createConnectApp({
    serviceName: "interop-test-server",
    routes: (router) => router.service(TestService, createTestService()),
    logLevel: process.env.LOG_LEVEL ?? "silent",
    logRequests: false,
    readMaxBytes,
    // As the services run (true), or every call through connect-fastify (false): the suites run both.
    unaryFastPath: options.unaryFastPath ?? true,
    tls: undefined,
    // grpc.testing.TestService is test-only and opened explicitly: the suites test protocols, not credentials.
    auth: { authenticator: createAuthenticator({}), policy: new Map(openServices(TestService)) },
  });
  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, baseUrl: `http://${host}:${port}`, close: () => app.close() };
}

// `pnpm --filter @pos/interop test-server` (PORT, default 0 = any free port) for a look by hand.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startTestServer({ port: Number(process.env.PORT ?? 0) });
  console.log(`grpc.testing.TestService on ${server.baseUrl} (HTTP/1.1 and h2c; Connect, gRPC, gRPC-Web)`);
  process.once("SIGTERM", () => void server.close());
  process.once("SIGINT", () => void server.close());
}
