import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import {
  GetItemDetailRequestSchema,
  GetItemDetailResponseSchema,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import { createDeadlineResetInterceptor } from "./deadline-reset.js";

// Driven directly: through a real transport, whether the reset or the client's deadline timer
// comes first is a race, which is exactly what this interceptor settles.
const method = ItemService.method.getItemDetail;
const reset = () => new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled);

function request(header: HeadersInit, signal = new AbortController().signal): UnaryRequest {
  return {
    stream: false,
    service: ItemService,
    method,
    requestMethod: "POST",
    url: "http://127.0.0.1/pos.masterdata.v1.ItemService/GetItemDetail",
    signal,
    header: new Headers(header),
    contextValues: createContextValues(),
    message: create(GetItemDetailRequestSchema),
  } as UnaryRequest;
}

async function codeOf(header: HeadersInit, waitMs: number, signal?: AbortSignal): Promise<string> {
  const call = createDeadlineResetInterceptor()(async (): Promise<UnaryResponse> => {
    await sleep(waitMs);
    throw reset();
  });
  const err = await call(request(header, signal)).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return err === undefined ? "ok" : Code[err.code];
}

describe("deadline reset interceptor", () => {
  it("a reset after the deadline (gRPC's grpc-timeout) is deadline_exceeded", async () => {
    expect(await codeOf({ "grpc-timeout": "2m" }, 20)).toBe("DeadlineExceeded");
  });

  it("a reset after the deadline (Connect's connect-timeout-ms) is deadline_exceeded", async () => {
    expect(await codeOf({ "connect-timeout-ms": "2" }, 20)).toBe("DeadlineExceeded");
  });

  it("a reset before the deadline stays canceled", async () => {
    expect(await codeOf({ "grpc-timeout": "10S" }, 1)).toBe("Canceled");
  });

  it("a caller that gave up stays canceled, past the deadline too", async () => {
    const abort = new AbortController();
    abort.abort(new ConnectError("gave up", Code.Canceled));
    expect(await codeOf({ "grpc-timeout": "1m" }, 20, abort.signal)).toBe("Canceled");
  });

  it("without a timeout nothing changes", async () => {
    expect(await codeOf({}, 5)).toBe("Canceled");
  });

  it("answers pass through", async () => {
    const answer = create(GetItemDetailResponseSchema);
    const call = createDeadlineResetInterceptor()(
      async (req): Promise<UnaryResponse> =>
        ({
          stream: false,
          service: req.service,
          method,
          header: new Headers(),
          trailer: new Headers(),
          message: answer,
        }) as UnaryResponse,
    );
    expect((await call(request({ "grpc-timeout": "1S" }))).message).toBe(answer);
  });
});
