import { randomBytes } from "node:crypto";
import { type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, it } from "vitest";

/**
 * The MongoDB-wire server a suite runs against (MONGODB_URI, set by `pnpm test`
 * after starting FerretDB). When there is none, registers a test that says so:
 * failing, or — when the test command could not build FerretDB and says why in
 * MONGO_SUITE_NOT_RUN — skipped at run time with that reason (the test command
 * also prints it prominently at the end).
 */
export function mongoUriForSuite(suite: string): string | undefined {
  const uri = process.env.MONGODB_URI;
  if (uri !== undefined && uri !== "") return uri;
  const notRun = process.env.MONGO_SUITE_NOT_RUN;
  it(`${suite}: needs a MongoDB-wire server`, (ctx) => {
    if (notRun !== undefined) ctx.skip(`NOT RUN: ${notRun}`);
    throw new Error("MONGODB_URI is unset: run `pnpm test`, which starts FerretDB");
  });
  return undefined;
}

/**
 * A database of the suite's own on the server at `uri`, dropped after the
 * suite: `db()` during tests, `name` for stores that connect by themselves.
 */
export function freshMongoDatabase(uri: string, prefix: string, timeoutMs: number): { name: string; db(): Db } {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  let client: MongoClient | undefined;
  beforeAll(async () => {
    client = await new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, timeoutMS: timeoutMs }).connect();
  });
  afterAll(async () => {
    await client?.db(name).dropDatabase();
    await client?.close();
  });
  return {
    name,
    db() {
      if (client === undefined) throw new Error("freshMongoDatabase: db() is for tests, after beforeAll");
      return client.db(name);
    },
  };
}
