import { Code, type ConnectError } from "@connectrpc/connect";
import { badRequest, errorWithReason } from "@pos/common";

// Helpers so every rule reads as one line; the edge passes ConnectErrors (and their details) through.

/** The request itself is wrong, whatever state the cart is in: `field` is the path of the bad field. */
export function invalidArgument(field: string, message: string): ConnectError {
  // The rule's own sentence as the message, not "field: problem": these read as one already.
  return badRequest([{ field, description: message }], message);
}

/** The request is wrong as a whole, no one field at fault (totals that overflow, a tax code master-data lacks). */
export function invalidRequest(reason: string, message: string): ConnectError {
  return errorWithReason(Code.InvalidArgument, reason, message);
}

/** The request is well-formed but the cart's state does not allow it; `reason` says which rule (UPPER_SNAKE). */
export function failedPrecondition(reason: string, message: string): ConnectError {
  return errorWithReason(Code.FailedPrecondition, reason, message);
}
