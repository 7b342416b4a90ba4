import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { EmptySchema } from "@pos/gen/interop/grpc/testing/empty_pb.js";
import {
  type BoolValue,
  type EchoStatus,
  type Payload,
  PayloadSchema,
  PayloadType,
  type ResponseParameters,
  SimpleResponseSchema,
  StreamingInputCallResponseSchema,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
  StreamingOutputCallResponseSchema,
} from "@pos/gen/interop/grpc/testing/messages_pb.js";
import type { TestService } from "@pos/gen/interop/grpc/testing/test_pb.js";

// The interop spec's metadata keys: the server echoes the first as a header, the second as a trailer.
const echoInitialKey = "x-grpc-test-echo-initial";
const echoTrailingKey = "x-grpc-test-echo-trailing-bin";

/** What the server answers in `server_id` when asked (one process, so always the same). */
export const testServerId = "pos-connect-interop";

/**
 * grpc.testing.TestService as the gRPC interop spec describes it
 * (https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md), written for this
 * project on connect-es. UnimplementedCall is left out on purpose: the spec wants `unimplemented`.
 */
export function createTestService(): Omit<ServiceImpl<typeof TestService>, "unimplementedCall"> {
  const unary = (
    req: {
      responseType: PayloadType;
      responseSize: number;
      responseStatus?: EchoStatus | undefined;
      expectCompressed?: BoolValue | undefined;
      fillServerId: boolean;
    },
    ctx: HandlerContext,
  ) => {
    echoMetadata(ctx);
    checkCompressed(req.expectCompressed, ctx);
    throwRequestedStatus(req.responseStatus);
    return create(SimpleResponseSchema, {
      payload: newPayload(req.responseType, req.responseSize),
      serverId: req.fillServerId ? testServerId : "",
      hostname: req.fillServerId ? hostname() : "",
    });
  };
  return {
    emptyCall(_req, ctx) {
      echoMetadata(ctx);
      return create(EmptySchema);
    },
    unaryCall: unary,
    cacheableUnaryCall: unary,
    async *streamingOutputCall(req, ctx) {
      echoMetadata(ctx);
      throwRequestedStatus(req.responseStatus);
      yield* respond(req, ctx);
    },
    async streamingInputCall(requests, ctx) {
      echoMetadata(ctx);
      let aggregatedPayloadSize = 0;
      for await (const req of requests) {
        checkCompressed(req.expectCompressed, ctx);
        aggregatedPayloadSize += req.payload?.body.length ?? 0;
      }
      return create(StreamingInputCallResponseSchema, { aggregatedPayloadSize });
    },
    async *fullDuplexCall(requests, ctx) {
      echoMetadata(ctx);
      for await (const req of requests) {
        throwRequestedStatus(req.responseStatus);
        yield* respond(req, ctx);
      }
    },
    async *halfDuplexCall(requests, ctx) {
      echoMetadata(ctx);
      const all: StreamingOutputCallRequest[] = [];
      for await (const req of requests) all.push(req);
      for (const req of all) {
        throwRequestedStatus(req.responseStatus);
        yield* respond(req, ctx);
      }
    },
  };
}

async function* respond(
  req: StreamingOutputCallRequest,
  ctx: HandlerContext,
): AsyncGenerator<StreamingOutputCallResponse> {
  for (const params of req.responseParameters) {
    await pause(params, ctx.signal);
    yield create(StreamingOutputCallResponseSchema, { payload: newPayload(req.responseType, params.size) });
  }
}

/** Waits `interval_us` before a response; a deadline or a cancelled call ends the wait at once. */
async function pause(params: ResponseParameters, signal: AbortSignal): Promise<void> {
  if (params.intervalUs <= 0) return;
  await sleep(params.intervalUs / 1000, undefined, { signal }).catch(() => {
    throw ConnectError.from(signal.reason ?? new ConnectError("call cancelled", Code.Canceled));
  });
}

function newPayload(type: PayloadType, size: number): Payload {
  if (type !== PayloadType.COMPRESSABLE) {
    throw new ConnectError(`payload type ${PayloadType[type]} is not supported`, Code.InvalidArgument);
  }
  if (size < 0) throw new ConnectError(`response size must not be negative, got ${size}`, Code.InvalidArgument);
  return create(PayloadSchema, { type, body: new Uint8Array(size) });
}

// Code 0 is OK: no error.
function throwRequestedStatus(status: EchoStatus | undefined): void {
  if (status !== undefined && status.code !== 0) {
    throw new ConnectError(status.message, status.code as Code);
  }
}

function echoMetadata(ctx: HandlerContext): void {
  const initial = ctx.requestHeader.get(echoInitialKey);
  if (initial !== null) ctx.responseHeader.set(echoInitialKey, initial);
  const trailing = ctx.requestHeader.get(echoTrailingKey);
  if (trailing !== null) ctx.responseTrailer.set(echoTrailingKey, trailing);
}

// The compressed cases first send a request that claims compression without it, to see it refused.
function checkCompressed(expect: BoolValue | undefined, ctx: HandlerContext): void {
  if (expect?.value !== true) return;
  const encoding =
    ctx.requestHeader.get("grpc-encoding") ??
    ctx.requestHeader.get("connect-content-encoding") ??
    ctx.requestHeader.get("content-encoding");
  if (encoding === null || encoding === "identity") {
    throw new ConnectError("expected a compressed request, got an uncompressed one", Code.InvalidArgument);
  }
}
