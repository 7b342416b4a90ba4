import {
  type Db,
  MongoBulkWriteError,
  MongoClient,
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
import { StoreTimeoutError, StoreUnavailableError, shortReason } from "./store-errors.js";

/**
 * Connects with every operation, connecting included, bounded by `timeoutMs`
 * (CSOT), and hands the Db to `open`; on any failure the client is closed and
 * the error mapped. The result owns the client: its close() closes it.
 */
export async function connectMongo<T extends { close(): Promise<void> }>(
  uri: string,
  options: { timeoutMs: number; appName: string; dbName?: string | undefined; defaultDbName: string },
  open: (db: Db) => Promise<T>,
): Promise<T> {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: options.timeoutMs,
    connectTimeoutMS: options.timeoutMs,
    timeoutMS: options.timeoutMs,
    appName: options.appName,
  });
  try {
    await client.connect();
    const opened = await open(client.db(options.dbName ?? dbNameFromUri(uri, options.defaultDbName)));
    return { ...opened, close: () => client.close() };
  } catch (e) {
    await client.close().catch(() => undefined);
    throw toStoreError(e);
  }
}

/**
 * The one place MongoDB driver errors become store errors: unreachable →
 * unavailable, too slow → timeout. Anything else (a rejected command, a bug)
 * passes through unchanged, to surface as an internal error.
 */
export function toStoreError(e: unknown, dependency?: string): unknown {
  // A bulk write wraps a network or timeout failure of its batch; judge by what it wraps.
  if (e instanceof MongoBulkWriteError && e.errorResponse instanceof MongoError) {
    const inner = toStoreError(e.errorResponse, dependency);
    if (inner !== e.errorResponse) return inner;
  }
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
    return new StoreUnavailableError(`MongoDB unavailable: ${mongoReason(cause)}`, { cause: e, dependency });
  }
  if (
    e instanceof MongoOperationTimeoutError ||
    e instanceof MongoNetworkTimeoutError ||
    (e instanceof MongoServerError && e.code === 50)
  ) {
    return new StoreTimeoutError(`MongoDB timed out: ${mongoReason(e)}`, { cause: e, dependency });
  }
  return e;
}

/** Runs a MongoDB operation with its errors mapped by toStoreError; `dependency` names the store to clients. */
export async function guarded<T>(operation: () => Promise<T>, dependency?: string): Promise<T> {
  try {
    return await operation();
  } catch (e) {
    throw toStoreError(e, dependency);
  }
}

export function isDuplicateKey(e: unknown): boolean {
  return e instanceof MongoServerError && e.code === 11000;
}

/** Concurrent upserts of one new key may both try the insert; the loser's second try finds the document. */
export async function retryOnDuplicateKey<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!isDuplicateKey(e)) throw e;
    return write();
  }
}

/** The database named in the URI's path ("mongodb://host/name?…"), else the fallback. */
export function dbNameFromUri(uri: string, fallback: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(uri)?.[1] ?? "";
  return path === "" ? fallback : decodeURIComponent(path);
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
