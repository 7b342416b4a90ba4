import type { ConnectError } from "@connectrpc/connect";
import { badRequest } from "./errors.js";

/**
 * The building blocks of request validation: one `invalid_argument` per bad field, naming it in
 * the message and in a `google.rpc.BadRequest` field violation (field paths as errors.ts says:
 * `items[2].item_code`).
 */
export function invalid(field: string, problem: string, reason?: string): ConnectError {
  return badRequest([{ field, description: problem, ...(reason !== undefined && { reason }) }]);
}

const idPattern = /^[A-Za-z0-9_-]{1,32}$/;

/** Tenant, store, terminal, staff and category codes: 1-32 letters, digits, '_' or '-'. */
export function checkId(field: string, value: string): void {
  if (value === "") throw invalid(field, "is required", "REQUIRED");
  if (!idPattern.test(value)) {
    throw invalid(field, `must be 1-32 letters, digits, '_' or '-', got ${quote(value)}`, "MALFORMED");
  }
}

// Item codes are printable and without white space (JAN codes, SKUs, PLUs).
const itemCodePattern = /^[^\s\p{C}]{1,64}$/u;

/** Item codes (both services check them the same way): 1-64 printable characters, no white space. */
export function checkItemCode(field: string, code: string): void {
  if (code === "") throw invalid(field, "is required", "REQUIRED");
  if (!itemCodePattern.test(code)) {
    throw invalid(field, `must be 1-64 printable characters without spaces, got ${quote(code)}`, "MALFORMED");
  }
}

export function checkLength(field: string, value: string, max: number): void {
  // .length counts UTF-16 units, never fewer than characters: only a long string needs counting.
  if (value.length <= max) return;
  const length = [...value].length;
  if (length > max) throw invalid(field, `must be at most ${max} characters, got ${length}`, "TOO_LONG");
}

// Echo at most a short prefix of what the client sent: errors end up in logs.
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
