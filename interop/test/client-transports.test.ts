import { create } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Client,
  Code,
  ConnectError,
  createClient,
  decodeBinaryHeader,
  encodeBinaryHeader,
} from "@connectrpc/connect";
import { createWireTransport, everyTransportConfig, type MasterDataTransportConfig } from "@pos/cart";
import { EmptySchema } from "@pos/gen/interop/grpc/testing/empty_pb.js";
import {
  PayloadType,
  type StreamingInputCallRequest,
  StreamingInputCallRequestSchema,
  type StreamingOutputCallRequest,
  StreamingOutputCallRequestSchema,
} from "@pos/gen/interop/grpc/testing/messages_pb.js";
import { TestService, UnimplementedService } from "@pos/gen/interop/grpc/testing/test_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { interopTool, type PeerProcess, pinnedVersion, startPeer } from "./tools.js";

// Cart's client transports (every config services/cart/src/master-data/transport.ts can build, as
// the wire transport: without cart's retry/breaker/error-mapping interceptors, which would rightly
// change the codes the cases check) against servers we did not write: the official grpc-go interop server (gRPC) and a connect-go
// server (Connect, gRPC-Web, and gRPC again), with the interop spec's cases.

const grpcVersion = pinnedVersion("google.golang.org/grpc");
const connectVersion = pinnedVersion("connectrpc.com/connect");

type PeerName = "grpc-go" | "connect-go";
const peers: Record<PeerName, { start(): Promise<PeerProcess>; label: string }> = {
  "grpc-go": {
    label: `official grpc-go ${grpcVersion} interop server`,
    start: () =>
      startPeer(
        interopTool("grpc-interop-server"),
        ["--port=0", "--use_tls=false"],
        (line) => /interop server listening on .*:(\d+)$/.exec(line)?.[1]?.replace(/^/, "http://127.0.0.1:"),
        // It says where it listens only at info level.
        { ...process.env, GRPC_GO_LOG_SEVERITY_LEVEL: "info", GRPC_GO_LOG_VERBOSITY_LEVEL: "0" },
      ),
  },
  "connect-go": {
    label: `connect-go ${connectVersion} server`,
    start: () => startPeer(interopTool("connect-peer"), ["server"], (line) => /^listening (http:\S+)$/.exec(line)?.[1]),
  },
};

// gRPC needs a gRPC server: both peers speak it (grpc-go only with the protobuf codec: it has no
// JSON codec). Connect and gRPC-Web only connect-go speaks.
function peersFor(config: MasterDataTransportConfig): PeerName[] {
  if (config.protocol !== "grpc") return ["connect-go"];
  return config.format === "binary" ? ["grpc-go", "connect-go"] : ["connect-go"];
}

const largeReqSize = 271828;
const largeRespSize = 314159;
const severalMb = 3 * 1024 * 1024; // below grpc-go's default 4 MiB receive limit
const reqSizes = [27182, 8, 1828, 45904];
const respSizes = [31415, 9, 2653, 58979];
const echoInitialKey = "x-grpc-test-echo-initial";
const echoTrailingKey = "x-grpc-test-echo-trailing-bin";
const echoTrailing = new Uint8Array([0x0a, 0x0b, 0x0a, 0x0b, 0x0a, 0x0b]);
const statusMessage = "test status message";
const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

const payload = (size: number) => ({ type: PayloadType.COMPRESSABLE, body: new Uint8Array(size) });

function streamRequest(sizes: number[], intervalUs = 0): StreamingOutputCallRequest {
  return create(StreamingOutputCallRequestSchema, {
    responseType: PayloadType.COMPRESSABLE,
    responseParameters: sizes.map((size, i) => ({ size, intervalUs: i === 0 ? 0 : intervalUs })),
  });
}

async function* messages<T>(items: T[], signal?: AbortSignal): AsyncGenerator<T> {
  for (const item of items) {
    if (signal?.aborted) return;
    yield item;
  }
}

async function expectCode(call: Promise<unknown>, code: Code, message?: string): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err, `want ${Code[code]}, the call succeeded`).toBeDefined();
  expect(Code[err!.code], err!.message).toBe(Code[code]);
  if (message !== undefined) expect(err!.rawMessage).toBe(message);
}

function sizesOf(bodies: { payload?: { body: Uint8Array } | undefined }[]): number[] {
  return bodies.map((r) => r.payload?.body.length ?? -1);
}

const started = new Map<PeerName, Promise<PeerProcess>>();
const peer = (name: PeerName) => {
  let p = started.get(name);
  if (p === undefined) {
    p = peers[name].start();
    started.set(name, p);
  }
  return p;
};
afterAll(async () => {
  for (const p of started.values()) await (await p.catch(() => undefined))?.stop();
});

for (const config of everyTransportConfig("http://127.0.0.1:0")) {
  const probe = createWireTransport(config);
  const name = probe.describe.replace(/ to .*$/, "");
  probe.close();
  const http2 = config.httpVersion === "2";
  for (const peerName of peersFor(config)) {
    describe(`${name} → ${peers[peerName].label}`, () => {
      let transport: ReturnType<typeof createWireTransport>;
      let client: Client<typeof TestService>;
      let unimplemented: Client<typeof UnimplementedService>;
      beforeAll(async () => {
        const { baseUrl } = await peer(peerName);
        transport = createWireTransport({ ...config, url: baseUrl });
        client = createClient(TestService, transport.transport);
        unimplemented = createClient(UnimplementedService, transport.transport);
      }, 60_000);

      // The spec has a server echo metadata and statuses on FullDuplexCall (HTTP/2 only); over
      // HTTP/1.1 (connect-go only) StreamingOutputCall carries them, which connect-peer honours.
      const stream = (req: StreamingOutputCallRequest, options?: CallOptions) =>
        http2 ? client.fullDuplexCall(messages([req]), options) : client.streamingOutputCall(req, options);
      afterAll(() => transport?.close());

      it("empty_unary", async () => {
        expect(await client.emptyCall({})).toEqual(create(EmptySchema));
      });

      it("large_unary", async () => {
        const res = await client.unaryCall({
          responseType: PayloadType.COMPRESSABLE,
          responseSize: largeRespSize,
          payload: payload(largeReqSize),
        });
        expect(res.payload?.type).toBe(PayloadType.COMPRESSABLE);
        expect(res.payload?.body.length).toBe(largeRespSize);
      });

      // Several MB as protobuf JSON (base64) cost ~1 s in protobuf-es' JSON encoder alone: a speed
      // matter, not correctness, so the JSON configs stop at large_unary (~300 KB).
      it.runIf(config.format === "binary")(`large messages: ${severalMb} bytes each way`, async () => {
        const res = await client.unaryCall({
          responseType: PayloadType.COMPRESSABLE,
          responseSize: severalMb,
          payload: payload(severalMb),
        });
        expect(res.payload?.body.length).toBe(severalMb);
      });

      it("server_streaming", async () => {
        const got = [];
        for await (const res of client.streamingOutputCall(streamRequest(respSizes))) got.push(res);
        expect(sizesOf(got)).toEqual(respSizes);
      });

      it("client_streaming", async () => {
        const requests = reqSizes.map((size) => create(StreamingInputCallRequestSchema, { payload: payload(size) }));
        const res = await client.streamingInputCall(messages<StreamingInputCallRequest>(requests));
        expect(res.aggregatedPayloadSize).toBe(reqSizes.reduce((a, b) => a + b, 0));
      });

      it.runIf(http2)("ping_pong (bidirectional, HTTP/2)", async () => {
        const requests = reqSizes.map((size, i) =>
          create(StreamingOutputCallRequestSchema, {
            responseType: PayloadType.COMPRESSABLE,
            responseParameters: [{ size: respSizes[i]! }],
            payload: payload(size),
          }),
        );
        const got = [];
        for await (const res of client.fullDuplexCall(messages(requests))) got.push(res);
        expect(sizesOf(got)).toEqual(respSizes);
      });

      it("status_code_and_message", async () => {
        await expectCode(
          client.unaryCall({ responseStatus: { code: Code.Unknown, message: statusMessage } }),
          Code.Unknown,
          statusMessage,
        );
      });

      it("status_code_and_message on a stream", async () => {
        const req = create(StreamingOutputCallRequestSchema, {
          responseStatus: { code: Code.ResourceExhausted, message: statusMessage },
        });
        const drain = async () => {
          for await (const _ of stream(req)) expect.unreachable("a response");
        };
        await expectCode(drain(), Code.ResourceExhausted, statusMessage);
      });

      it("special_status_message", async () => {
        await expectCode(
          client.unaryCall({ responseStatus: { code: Code.Unknown, message: specialMessage } }),
          Code.Unknown,
          specialMessage,
        );
      });

      it("custom_metadata: headers and trailers (unary)", async () => {
        let header: Headers | undefined;
        let trailer: Headers | undefined;
        await client.unaryCall(
          { responseType: PayloadType.COMPRESSABLE, responseSize: 1, payload: payload(1) },
          {
            headers: {
              [echoInitialKey]: "test_initial_metadata_value",
              [echoTrailingKey]: encodeBinaryHeader(echoTrailing),
            },
            onHeader: (h) => {
              header = h;
            },
            onTrailer: (t) => {
              trailer = t;
            },
          },
        );
        expect(header?.get(echoInitialKey)).toBe("test_initial_metadata_value");
        expect(decodeBinaryHeader(trailer?.get(echoTrailingKey) ?? "")).toEqual(echoTrailing);
      });

      it("custom_metadata: headers and trailers (server stream)", async () => {
        let header: Headers | undefined;
        let trailer: Headers | undefined;
        const responses = stream(streamRequest([1]), {
          headers: {
            [echoInitialKey]: "test_initial_metadata_value",
            [echoTrailingKey]: encodeBinaryHeader(echoTrailing),
          },
          onHeader: (h) => {
            header = h;
          },
          onTrailer: (t) => {
            trailer = t;
          },
        });
        for await (const _ of responses);
        expect(header?.get(echoInitialKey)).toBe("test_initial_metadata_value");
        expect(decodeBinaryHeader(trailer?.get(echoTrailingKey) ?? "")).toEqual(echoTrailing);
      });

      it("unimplemented_method", async () => {
        await expectCode(client.unimplementedCall({}), Code.Unimplemented);
      });

      it("unimplemented_service", async () => {
        await expectCode(unimplemented.unimplementedCall({}), Code.Unimplemented);
      });

      it("timeout_on_sleeping_server: the deadline ends the call", async () => {
        const drain = async () => {
          for await (const _ of client.streamingOutputCall(streamRequest([1, 1], 30_000_000), { timeoutMs: 300 }));
        };
        await expectCode(drain(), Code.DeadlineExceeded);
      });

      it("cancel_after_first_response", async () => {
        const abort = new AbortController();
        const drain = async () => {
          for await (const _ of client.streamingOutputCall(streamRequest([31415, 1], 30_000_000), {
            signal: abort.signal,
          })) {
            abort.abort();
          }
        };
        await expectCode(drain(), Code.Canceled);
      });

      it("cancel_after_begin", async () => {
        const abort = new AbortController();
        abort.abort();
        const requests = [create(StreamingInputCallRequestSchema, { payload: payload(1) })];
        await expectCode(
          client.streamingInputCall(messages(requests, abort.signal), { signal: abort.signal }),
          Code.Canceled,
        );
      });
    });
  }
}
