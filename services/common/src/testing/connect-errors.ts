import { ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";

/** The ConnectError `promise` rejects with; the test fails if it resolves or rejects with anything else. */
export async function errorOf(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return e as ConnectError;
  }
  throw new Error("expected the call to fail");
}
