import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createRepeatLog } from "./repeat-log.js";
import { requestLogKey } from "./request-log.js";

/**
 * A dependency (database, cache, peer service) cannot be reached. Adapters
 * throw this instead of their driver's error so that the edge maps it without
 * knowing any driver.
 */
export class UnavailableError extends Error {
  override readonly name: string = "UnavailableError";
  /** What the service calls the dependency ("cart store", "transaction log"): all the client is told. */
  readonly dependency: string | undefined;
  constructor(message: string, options?: DependencyErrorOptions) {
    super(message, options);
    this.dependency = options?.dependency;
  }
}

export interface DependencyErrorOptions extends ErrorOptions {
  dependency?: string | undefined;
}

/** A dependency did not answer in time. */
export class TimeoutError extends Error {
  override readonly name: string = "TimeoutError";
  readonly dependency: string | undefined;
  constructor(message: string, options?: DependencyErrorOptions) {
    super(message, options);
    this.dependency = options?.dependency;
  }
}

/**
 * Maps every error that leaves a handler to a ConnectError, once, at the
 * edge: dependency failures become `unavailable` / `deadline_exceeded` with a
 * short reason, anything unexpected becomes `internal` naming only the request
 * id. The full error (with stack) goes to the log, never to the client.
 */
export function createErrorMappingInterceptor(): Interceptor {
  const repeats = createRepeatLog();
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const log = req.contextValues.get(requestLogKey);
      const rpc = `${req.service.typeName}/${req.method.name}`;
      // An outage fails every call alike: the first is logged, the rest as a count per interval.
      const warn = (fields: Record<string, unknown>, msg: string): void =>
        repeats.occurred(`${rpc}|${String(fields.code)}|${String(fields.err)}|${msg}`, (repeated) =>
          log.warn(
            repeated === undefined ? fields : { ...fields, repeated: repeated.count, inLastMs: repeated.intervalMs },
            msg,
          ),
        );
      if (e instanceof ConnectError) {
        if (isServerFault(e.code)) {
          warn({ rpc, code: Code[e.code], err: e.rawMessage, cause: causeChain(e.cause) }, "rpc failed");
        } else {
          log.debug({ rpc, code: Code[e.code], err: e.rawMessage }, "rpc rejected");
        }
        throw e;
      }
      // The client learns which dependency and the code; the driver's text and addresses go to the log.
      if (e instanceof UnavailableError) {
        warn({ rpc, code: "Unavailable", err: e.message, cause: causeChain(e.cause) }, "dependency unavailable");
        throw new ConnectError(`${e.dependency ?? "a dependency"} unavailable`, Code.Unavailable);
      }
      if (e instanceof TimeoutError) {
        warn({ rpc, code: "DeadlineExceeded", err: e.message, cause: causeChain(e.cause) }, "dependency timed out");
        throw new ConnectError(`${e.dependency ?? "a dependency"} timed out`, Code.DeadlineExceeded);
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

/** The messages of an error's causes, outermost first, one line each: for the log only. */
function causeChain(cause: unknown): string | undefined {
  const out: string[] = [];
  for (let c = cause; c instanceof Error && out.length < 5; c = c.cause) {
    const code = "code" in c && (typeof c.code === "string" || typeof c.code === "number") ? ` [${c.code}]` : "";
    out.push(`${c.message.split("\n", 1)[0]}${code}`);
  }
  return out.length === 0 ? undefined : out.join(" <- ");
}
