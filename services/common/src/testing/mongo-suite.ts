import { it } from "vitest";

/**
 * The MongoDB-wire server a suite runs against (MONGODB_URI, set by `pnpm test`
 * after starting FerretDB). When there is none, registers a test that says so:
 * failing, or — when the test command could not build FerretDB and says why in
 * MONGO_SUITE_NOT_RUN — skipped at run time with that reason (the test command
 * also prints it prominently at the end).
 */
export function mongoUriForSuite(suite: string): string | undefined {
  const uri = process.env["MONGODB_URI"];
  if (uri !== undefined && uri !== "") return uri;
  const notRun = process.env["MONGO_SUITE_NOT_RUN"];
  it(`${suite}: needs a MongoDB-wire server`, (ctx) => {
    if (notRun !== undefined) ctx.skip(`NOT RUN: ${notRun}`);
    throw new Error("MONGODB_URI is unset: run `pnpm test`, which starts FerretDB");
  });
  return undefined;
}
