import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "@pos/gen/google/rpc/error_details_pb.js";
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

/** `google.rpc.ErrorInfo.domain` of every error these services answer. */
export const errorDomain = "pos.example";

/**
 * One bad field of a request. `field` is THE field path of every error detail here: proto field
 * names (snake_case) joined by `.`, list elements as `[index]` (0-based), map entries as `["key"]`,
 * e.g. `items[2].quantity`, `cart.cart_id`, `unit_price.currency_code`.
 */
export interface FieldViolation {
  field: string;
  description: string;
  /** UPPER_SNAKE cause of the violation (`REQUIRED`, `TOO_LONG`, …); optional. */
  reason?: string;
}

/**
 * `invalid_argument` with a `google.rpc.BadRequest` detail listing the bad fields. The message
 * names the first one (`items[2].quantity: must be 1..9999, got 0`) unless a message is given.
 */
export function badRequest(violations: readonly FieldViolation[], message?: string): ConnectError {
  const first = violations[0];
  const text = message ?? (first === undefined ? "invalid request" : `${first.field}: ${first.description}`);
  return new ConnectError(text, Code.InvalidArgument, undefined, [
    {
      desc: BadRequestSchema,
      value: {
        fieldViolations: violations.map((v) => ({
          field: v.field,
          description: v.description,
          reason: v.reason ?? "",
        })),
      },
    },
  ]);
}

/**
 * An error with a `google.rpc.ErrorInfo` detail: `reason` is an UPPER_SNAKE constant a client can
 * branch on (`CART_NOT_FOUND`), `metadata` the values that go with it (the caller's own ids only).
 */
export function errorWithReason(
  code: Code,
  reason: string,
  message: string,
  metadata: Record<string, string> = {},
): ConnectError {
  return new ConnectError(message, code, undefined, [errorInfo(reason, metadata)]);
}

/**
 * `resource_exhausted` with a `google.rpc.RetryInfo` (when to try again) and an ErrorInfo reason.
 */
export function retryLater(
  reason: string,
  message: string,
  retryDelayMs: number,
  metadata: Record<string, string> = {},
) {
  return new ConnectError(message, Code.ResourceExhausted, undefined, [
    errorInfo(reason, metadata),
    { desc: RetryInfoSchema, value: { retryDelay: durationFromMs(Math.max(0, Math.ceil(retryDelayMs))) } },
  ]);
}

function errorInfo(reason: string, metadata: Record<string, string>) {
  return { desc: ErrorInfoSchema, value: { reason, domain: errorDomain, metadata } };
}

/** `NotFound` → `NOT_FOUND`: the ErrorInfo reason of an error whose thrower gave none. */
export function defaultReason(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

// The detail types a client branches on: an error that carries one of them already says enough.
const actionableDetails = new Set<string>([
  BadRequestSchema.typeName,
  ErrorInfoSchema.typeName,
  RetryInfoSchema.typeName,
]);

function hasActionableDetail(err: ConnectError): boolean {
  return err.details.some((d) => actionableDetails.has("desc" in d ? d.desc.typeName : d.type));
}

/** The same error with an ErrorInfo detail (reason from its code) when it has no detail to act on. */
function withDetails(err: ConnectError): ConnectError {
  if (hasActionableDetail(err)) return err;
  err.details.push(errorInfo(defaultReason(err.code), {}));
  return err;
}

/**
 * Maps every error that leaves a handler to a ConnectError, once, at the
 * edge: dependency failures become `unavailable` / `deadline_exceeded` with a
 * short reason, anything unexpected becomes `internal` naming only the request
 * id. The full error (with stack) goes to the log, never to the client. Every
 * error leaves with details a client can act on: `invalid_argument` with the
 * BadRequest its thrower built (badRequest), the others with an ErrorInfo reason
 * (errorWithReason, else one derived from the code: `NOT_FOUND`, `INTERNAL`, …).
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
        throw withDetails(e);
      }
      // The client learns which dependency and the code; the driver's text and addresses go to the log.
      if (e instanceof UnavailableError) {
        warn({ rpc, code: "Unavailable", err: e.message, cause: causeChain(e.cause) }, "dependency unavailable");
        throw errorWithReason(
          Code.Unavailable,
          "DEPENDENCY_UNAVAILABLE",
          `${e.dependency ?? "a dependency"} unavailable`,
          e.dependency === undefined ? {} : { dependency: e.dependency },
        );
      }
      if (e instanceof TimeoutError) {
        warn({ rpc, code: "DeadlineExceeded", err: e.message, cause: causeChain(e.cause) }, "dependency timed out");
        throw errorWithReason(
          Code.DeadlineExceeded,
          "DEPENDENCY_TIMEOUT",
          `${e.dependency ?? "a dependency"} timed out`,
          e.dependency === undefined ? {} : { dependency: e.dependency },
        );
      }
      log.error({ rpc, err: e }, "unexpected error");
      throw errorWithReason(Code.Internal, "INTERNAL", `internal error (request id ${log.requestId})`, {
        request_id: log.requestId,
      });
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
