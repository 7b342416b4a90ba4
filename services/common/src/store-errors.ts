import { TimeoutError, UnavailableError } from "./errors.js";

/** The backing service (Redis, MongoDB) cannot be reached or refuses to serve. */
export class StoreUnavailableError extends UnavailableError {
  override readonly name = "StoreUnavailableError";
}

/** The backing service did not answer within the configured time. */
export class StoreTimeoutError extends TimeoutError {
  override readonly name = "StoreTimeoutError";
}

/** First line of a driver message, bounded: enough to say why, never a stack or a wall of text. */
export function shortReason(message: string): string {
  return (message.split("\n")[0] ?? "").slice(0, 200);
}
