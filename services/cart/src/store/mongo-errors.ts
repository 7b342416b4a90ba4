import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import { shortReason, StoreTimeoutError, StoreUnavailableError } from "./store-errors.js";

// The same mapping as master-data's mongo-item-store.ts (not imported: services share only @pos/common).

/**
 * The one place MongoDB driver errors become store errors: unreachable →
 * unavailable, too slow → timeout. Anything else (a rejected command, a bug)
 * passes through unchanged, to surface as an internal error.
 */
export function toStoreError(e: unknown): unknown {
  if (!(e instanceof MongoError)) return e;
  // Under CSOT a server that never answers shows up as a timeout of server selection: it is unreachable.
  const cause = e instanceof MongoOperationTimeoutError && e.cause instanceof MongoServerSelectionError ? e.cause : e;
  if (
    cause instanceof MongoServerSelectionError ||
    (cause instanceof MongoNetworkError && !(cause instanceof MongoNetworkTimeoutError)) ||
    cause instanceof MongoTopologyClosedError ||
    cause instanceof MongoClientClosedError ||
    cause instanceof MongoNotConnectedError
  ) {
    return new StoreUnavailableError(`MongoDB unavailable: ${mongoReason(cause)}`, { cause: e });
  }
  if (
    e instanceof MongoOperationTimeoutError ||
    e instanceof MongoNetworkTimeoutError ||
    (e instanceof MongoServerError && e.code === 50)
  ) {
    return new StoreTimeoutError(`MongoDB timed out: ${mongoReason(e)}`, { cause: e });
  }
  return e;
}

export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (e) {
    throw toStoreError(e);
  }
}

export function isDuplicateKey(e: unknown): boolean {
  return e instanceof MongoServerError && e.code === 11000;
}

/** A server selection error's own message is generic; the server's last error says why ("connect ECONNREFUSED …"). */
function mongoReason(e: MongoError): string {
  if (e instanceof MongoServerSelectionError) {
    for (const server of e.reason?.servers.values() ?? []) {
      if (server.error) return shortReason(server.error.message);
    }
  }
  return shortReason(e.message);
}

/** The database named in the URI's path ("mongodb://host/name?…"), else the fallback. */
export function dbNameFromUri(uri: string, fallback: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(uri)?.[1] ?? "";
  return path === "" ? fallback : decodeURIComponent(path);
}
