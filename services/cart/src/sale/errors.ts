import { Code, ConnectError } from "@connectrpc/connect";

// Two helpers so every rule reads as one line; the edge passes ConnectErrors through unchanged.

/** The request itself is wrong, whatever state the cart is in. */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** The request is well-formed but the cart's state does not allow it. */
export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}
