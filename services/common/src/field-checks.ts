import { Code, ConnectError } from "@connectrpc/connect";

/** The building blocks of request validation: one `invalid_argument` per bad field, naming it. */
export function invalid(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

const idPattern = /^[A-Za-z0-9_-]{1,32}$/;

/** Tenant, store, terminal, staff and category codes: 1-32 letters, digits, '_' or '-'. */
export function checkId(field: string, value: string): void {
  if (value === "") throw invalid(field, "is required");
  if (!idPattern.test(value)) {
    throw invalid(field, `must be 1-32 letters, digits, '_' or '-', got ${quote(value)}`);
  }
}

export function checkLength(field: string, value: string, max: number): void {
  const length = [...value].length;
  if (length > max) throw invalid(field, `must be at most ${max} characters, got ${length}`);
}

// Echo at most a short prefix of what the client sent: errors end up in logs.
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
