import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * A gRPC server resets the HTTP/2 stream (RST_STREAM CANCEL) when the call's deadline passes. When
 * the client reads that reset before its own deadline timer has run (a busy event loop),
 * connect-node reports `canceled`, as if the caller had given up. Past the call's deadline it is
 * `deadline_exceeded`, which is what retries and error mapping must see. Found by the grpc-go
 * interop server (interop/test/client-transports.test.ts, timeout_on_sleeping_server).
 */
export function createDeadlineResetInterceptor(): Interceptor {
  return (next) => async (req) => {
    const timeoutMs = timeoutOf(req.header);
    if (timeoutMs === undefined) return next(req);
    const deadline = performance.now() + timeoutMs;
    const fix = (e: unknown): never => {
      const err = ConnectError.from(e);
      // A caller that gave up has aborted the signal; a reset past the deadline is the deadline.
      if (err.code === Code.Canceled && !req.signal.aborted && performance.now() >= deadline) {
        throw new ConnectError(
          `deadline exceeded after ${timeoutMs} ms (${err.rawMessage})`,
          Code.DeadlineExceeded,
          err.metadata,
          undefined,
          err,
        );
      }
      throw err;
    };
    const res = await next(req).catch(fix);
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
        } catch (e) {
          fix(e);
        }
      })(),
    };
  };
}

const grpcTimeoutUnitsMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** The call's timeout as the protocol put it in the request headers (gRPC, gRPC-Web, Connect). */
function timeoutOf(header: Headers): number | undefined {
  const connect = header.get("connect-timeout-ms");
  if (connect !== null && /^\d{1,10}$/.test(connect)) return Number(connect);
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
  const msPerUnit = grpcTimeoutUnitsMs[grpc?.[2] ?? ""];
  return grpc === null || msPerUnit === undefined ? undefined : Number(grpc[1]) * msPerUnit;
}
