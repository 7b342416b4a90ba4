import type { DescMethod } from "@bufbuild/protobuf";
import type { RequestLog } from "../request-log.js";
import type { Principal } from "./principal.js";

/**
 * THE audit log: one structured line per audited call (catalogue writes, price changes, bills,
 * cancels; key changes come from the keys CLI through the same function), saying who, what, when
 * and how it ended. Principals carry no secret (a key's public id, a token's subject), and the
 * policy's audit fields are names and amounts only.
 */
export function audit(
  log: Pick<RequestLog, "info">,
  entry: {
    who: Pick<Principal, "kind" | "subject" | "tenant" | "roles"> | { kind: "operator"; subject: string };
    what: string;
    fields?: Record<string, string>;
    outcome: string;
    at?: Date;
  },
): void {
  log.info(
    {
      audit: {
        at: (entry.at ?? new Date()).toISOString(),
        who: entry.who,
        what: entry.what,
        ...entry.fields,
        outcome: entry.outcome,
      },
    },
    `audit: ${entry.what} ${entry.outcome}`,
  );
}

export function rpcName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}
