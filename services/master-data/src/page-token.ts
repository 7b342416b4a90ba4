import { invalid } from "@pos/common";

/**
 * ListItems page tokens: opaque to clients, but only a base64url of the last
 * item code served and the filter it was served under, so a token cannot be
 * replayed against another filter and the server keeps no cursor state.
 */
interface PageCursor {
  after: string;
  category: string;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.after, cursor.category]), "utf8").toString("base64url");
}

/** The item code to continue after, or undefined for the first page. */
export function decodePageToken(token: string, category: string): string | undefined {
  if (token === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid("page_token", "is malformed: pass next_page_token from a previous response unchanged");
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((p) => typeof p === "string")) {
    throw invalid("page_token", "is malformed: pass next_page_token from a previous response unchanged");
  }
  const [after, tokenCategory] = parsed as [string, string];
  if (tokenCategory !== category) {
    throw invalid("page_token", `was issued for category_code "${tokenCategory}", not "${category}"`);
  }
  return after;
}
