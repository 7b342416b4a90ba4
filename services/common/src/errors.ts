import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { requestLogKey } from "./request-log.js";

/**
 * A dependency (database, cache, peer service) cannot be reached. Adapters
 * throw this instead of their driver's error so that the edge maps it without
 * knowing any driver.
 */
export class UnavailableError extends Error {
  override readonly name: string = "UnavailableError";
}

/** A dependency did not answer in time. */
export class TimeoutError extends Error {
  override readonly name: string = "TimeoutError";
}

/**
 * Maps every error that leaves a handler to a ConnectError, once, at the
 * edge: dependency failures become `unavailable` / `deadline_exceeded` with a
 * short reason, anything unexpected becomes `internal` naming only the request
 * id. The full error (with stack) goes to the log, never to the client.
 */
export function createErrorMappingInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const log = req.contextValues.get(requestLogKey);
      const rpc = `${req.service.typeName}/${req.method.name}`;
      if (e instanceof ConnectError) {
        if (isServerFault(e.code)) {
          log.warn({ rpc, code: Code[e.code], err: e.rawMessage }, "rpc failed");
        } else {
          log.debug({ rpc, code: Code[e.code], err: e.rawMessage }, "rpc rejected");
        }
        throw e;
      }
      if (e instanceof UnavailableError) {
        log.warn({ rpc, err: e.message }, "dependency unavailable");
        throw new ConnectError(e.message, Code.Unavailable);
      }
      if (e instanceof TimeoutError) {
        log.warn({ rpc, err: e.message }, "dependency timed out");
        throw new ConnectError(e.message, Code.DeadlineExceeded);
      }
      log.error({ rpc, err: e }, "unexpected error");
      throw new ConnectError(`internal error (request id ${log.requestId})`, Code.Internal);
    }
  };
}

function isServerFault(code: Code): boolean {
  return (
    code === Code.Internal ||
    code === Code.Unavailable ||
    code === Code.DeadlineExceeded ||
    code === Code.Unknown ||
    code === Code.DataLoss
  );
}
