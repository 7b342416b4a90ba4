import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "@pos/gen/google/rpc/error_details_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import {
  badRequest,
  createErrorMappingInterceptor,
  errorWithReason,
  retryLater,
  TimeoutError,
  UnavailableError,
} from "./errors.js";
import { type RequestLog, requestLogKey } from "./request-log.js";
import { StoreTimeoutError, StoreUnavailableError } from "./store-errors.js";

// The error-mapping interceptor between a handler that throws and a real client (in memory):
// what the client sees, and what the log gets instead.

interface Logged {
  level: "debug" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string;
}

function serviceThrowing(thrown: unknown) {
  const logged: Logged[] = [];
  const log: RequestLog = {
    requestId: "req-42",
    debug: (obj, msg) => void logged.push({ level: "debug", obj: { ...obj }, msg }),
    warn: (obj, msg) => void logged.push({ level: "warn", obj: { ...obj }, msg }),
    error: (obj, msg) => void logged.push({ level: "error", obj: { ...obj }, msg }),
    bind: () => undefined,
  };
  // What connect-app.ts does per request: the request's logger in the context values.
  const withLog: Interceptor = (next) => (req) => {
    req.contextValues.set(requestLogKey, log);
    return next(req);
  };
  const transport = createRouterTransport(
    (router) =>
      router.service(ItemService, {
        getItemDetail() {
          throw thrown;
        },
      }),
    { router: { interceptors: [withLog, createErrorMappingInterceptor()] } },
  );
  const client = createClient(ItemService, transport);
  const call = async (): Promise<ConnectError> => {
    try {
      await client.getItemDetail({ tenantId: "T1", storeCode: "S1", itemCode: "A" });
    } catch (e) {
      return ConnectError.from(e);
    }
    throw new Error("expected the call to fail");
  };
  return { call, logged };
}

const rpc = "pos.masterdata.v1.ItemService/GetItemDetail";

describe("error-mapping interceptor", () => {
  it("passes a ConnectError through as it is, logged at debug when the caller is at fault", async () => {
    const { call, logged } = serviceThrowing(new ConnectError("item_code: is required", Code.InvalidArgument));
    const err = await call();
    expect([Code[err.code], err.rawMessage]).toEqual(["InvalidArgument", "item_code: is required"]);
    expect(logged).toEqual([
      { level: "debug", obj: { rpc, code: "InvalidArgument", err: "item_code: is required" }, msg: "rpc rejected" },
    ]);
  });

  it("logs a ConnectError of the server's own making at warn", async () => {
    for (const code of [Code.Internal, Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.DataLoss]) {
      const { call, logged } = serviceThrowing(new ConnectError("upstream gone", code));
      expect((await call()).code).toBe(code);
      expect(logged.map((l) => [l.level, l.msg, l.obj.code])).toEqual([["warn", "rpc failed", Code[code]]]);
    }
  });

  it.each([
    [
      "UnavailableError",
      new UnavailableError("peer unavailable: connect ECONNREFUSED 10.0.0.7:8002", { dependency: "peer" }),
      "Unavailable",
      "peer unavailable",
    ],
    [
      "StoreUnavailableError",
      new StoreUnavailableError("MongoDB unavailable: connect ECONNREFUSED 127.0.0.1:27018", {
        dependency: "transaction log",
        cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:27018"), { code: "ECONNREFUSED" }),
      }),
      "Unavailable",
      "transaction log unavailable",
    ],
    ["TimeoutError", new TimeoutError("peer timed out after 300 ms"), "DeadlineExceeded", "a dependency timed out"],
    [
      "StoreTimeoutError",
      new StoreTimeoutError("Redis timed out: no answer to get within 300 ms", { dependency: "cart store" }),
      "DeadlineExceeded",
      "cart store timed out",
    ],
  ])(
    "maps %s to %s naming only the dependency; its reason and cause go to the log at warn",
    async (_name, thrown, code, message) => {
      const { call, logged } = serviceThrowing(thrown);
      const err = await call();
      expect([Code[err.code], err.rawMessage]).toEqual([code, message]);
      expect(logged).toEqual([
        {
          level: "warn",
          obj: {
            rpc,
            code,
            err: thrown.message,
            cause: thrown.cause === undefined ? undefined : "connect ECONNREFUSED 127.0.0.1:27018 [ECONNREFUSED]",
          },
          msg: expect.any(String),
        },
      ]);
    },
  );

  it("logs repeated identical failures once, then as a count per interval", async () => {
    const { call, logged } = serviceThrowing(
      new StoreUnavailableError("Redis unavailable: connection refused", { dependency: "cart store" }),
    );
    for (let i = 0; i < 50; i++) expect((await call()).rawMessage).toBe("cart store unavailable");
    expect(logged).toHaveLength(1);
    expect(logged[0]?.msg).toBe("dependency unavailable");
  });

  it("turns anything else into internal naming only the request id; the error and its stack go to the log", async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'driverSecret')");
    const { call, logged } = serviceThrowing(bug);
    const err = await call();
    expect([Code[err.code], err.rawMessage]).toEqual(["Internal", "internal error (request id req-42)"]);
    expect(JSON.stringify(err.metadata) + err.message).not.toMatch(/driverSecret|at /);
    expect(logged).toEqual([{ level: "error", obj: { rpc, err: bug }, msg: "unexpected error" }]);
    expect((logged[0]!.obj.err as Error).stack).toMatch(/errors\.test\.ts/);
  });

  it("survives a throw of something that is not an Error", async () => {
    const { call } = serviceThrowing("a string, thrown by some library");
    const err = await call();
    expect([Code[err.code], err.rawMessage]).toEqual(["Internal", "internal error (request id req-42)"]);
  });

  it("gives every error details a client can act on: its own, else an ErrorInfo reason from the code", async () => {
    const reasonOf = async (thrown: unknown) => {
      const err = await serviceThrowing(thrown).call();
      return err.findDetails(ErrorInfoSchema).map((i) => [i.reason, i.domain]);
    };
    expect(await reasonOf(new ConnectError("no such cart", Code.NotFound))).toEqual([["NOT_FOUND", "pos.example"]]);
    expect(await reasonOf(new ConnectError("x", Code.FailedPrecondition))).toEqual([
      ["FAILED_PRECONDITION", "pos.example"],
    ]);
    expect(await reasonOf(errorWithReason(Code.NotFound, "CART_NOT_FOUND", "no such cart"))).toEqual([
      ["CART_NOT_FOUND", "pos.example"],
    ]);
    expect(await reasonOf(new UnavailableError("MongoDB unavailable"))).toEqual([
      ["DEPENDENCY_UNAVAILABLE", "pos.example"],
    ]);
    expect(await reasonOf(new TypeError("bug"))).toEqual([["INTERNAL", "pos.example"]]);
    // invalid_argument keeps its BadRequest and gets no ErrorInfo besides.
    const invalid = await serviceThrowing(
      badRequest([{ field: "items[2].quantity", description: "must be 1..9999" }]),
    ).call();
    expect(invalid.rawMessage).toBe("items[2].quantity: must be 1..9999");
    expect(invalid.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual([
      "items[2].quantity",
    ]);
    expect(invalid.findDetails(ErrorInfoSchema)).toEqual([]);
  });

  it("retryLater says when: RetryInfo's retry_delay, rounded up to the millisecond", async () => {
    const err = await serviceThrowing(retryLater("RATE_LIMITED", "too many requests", 1234.2)).call();
    expect(err.code).toBe(Code.ResourceExhausted);
    const [retry] = err.findDetails(RetryInfoSchema);
    expect([retry?.retryDelay?.seconds, retry?.retryDelay?.nanos]).toEqual([1n, 235_000_000]);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
  });
});
