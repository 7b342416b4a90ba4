import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { badRequest, type FieldViolation } from "./errors.js";

/**
 * The length bound every string of every request has, whatever the method: a request's strings
 * are checked against it before any handler runs, so a new RPC or field cannot be added without
 * one. Handlers keep their own tighter rules (ids 32 characters, item codes 64, ...).
 */
export const defaultStringMaxChars = 2048;

// Enough to show a client what to fix; the rest would only make the error large.
const maxViolations = 10;

/** Rejects any request with a string (at any depth) longer than `maxChars` characters: invalid_argument naming it. */
export function createStringBoundsInterceptor(maxChars: number = defaultStringMaxChars): Interceptor {
  return (next) => async (req) => {
    const input = req.method.input;
    if (!mayHoldStrings(input)) return next(req);
    if (!req.stream) {
      rejectLongStrings(input, req.message, maxChars);
      return next(req);
    }
    const messages = req.message;
    async function* checked() {
      for await (const message of messages) {
        rejectLongStrings(input, message, maxChars);
        yield message;
      }
    }
    return next({ ...req, message: checked() });
  };
}

/** Throws invalid_argument with a BadRequest naming every string over `maxChars` (up to ten of them). */
export function rejectLongStrings(desc: DescMessage, message: unknown, maxChars: number): void {
  const violations: FieldViolation[] = [];
  walk(desc, message as Record<string, unknown>, [], maxChars, violations);
  if (violations.length > 0) throw badRequest(violations);
}

/**
 * Where the walk is: field names, list indexes and map keys (already bracketed), joined into a
 * path only for a violation: every request is walked, and almost none has one.
 */
type At = Array<string | number>;

function pathOf(at: At, suffix = ""): string {
  let path = "";
  for (const part of at) {
    if (typeof part === "number") path += `[${part}]`;
    else if (part.startsWith("[")) path += part;
    else path += path === "" ? part : `.${part}`;
  }
  return path + suffix;
}

function walk(desc: DescMessage, message: Record<string, unknown>, at: At, max: number, out: FieldViolation[]): void {
  for (const field of desc.fields) {
    if (out.length >= maxViolations) return;
    if (!fieldMayHoldStrings(field)) continue;
    let value: unknown;
    if (field.oneof === undefined) {
      value = message[field.localName];
    } else {
      const selected = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (selected?.case !== field.localName) continue;
      value = selected.value;
    }
    if (value === undefined || value === null) continue;
    at.push(field.name);
    switch (field.fieldKind) {
      case "scalar":
        checkString(value, at, max, out);
        break;
      case "message":
        walk(field.message, value as Record<string, unknown>, at, max, out);
        break;
      case "list": {
        const list = value as unknown[];
        for (let i = 0; i < list.length; i++) {
          at.push(i);
          if (field.listKind === "message") walk(field.message, list[i] as Record<string, unknown>, at, max, out);
          else checkString(list[i], at, max, out);
          at.pop();
        }
        break;
      }
      case "map":
        for (const [key, element] of Object.entries(value as Record<string, unknown>)) {
          at.push(`[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`);
          if (field.mapKey === ScalarType.STRING) checkString(key, at, max, out, " (key)");
          if (field.mapKind === "message") walk(field.message, element as Record<string, unknown>, at, max, out);
          else checkString(element, at, max, out);
          at.pop();
        }
        break;
      default:
        break;
    }
    at.pop();
  }
}

function checkString(value: unknown, at: At, max: number, out: FieldViolation[], suffix?: string): void {
  // .length counts UTF-16 units, never fewer than characters: only a long string needs counting.
  if (typeof value !== "string" || value.length <= max) return;
  const chars = [...value].length;
  if (chars <= max) return;
  out.push({
    field: pathOf(at, suffix),
    description: `must be at most ${max} characters, got ${chars}`,
    reason: "TOO_LONG",
  });
}

// Whether a message type can hold a string anywhere, computed once per type (most responses of
// the walk are "no" for whole subtrees). A type that refers to itself counts as "yes".
const holdsStrings = new WeakMap<DescMessage, boolean>();

function mayHoldStrings(desc: DescMessage, visitingTypes?: Set<DescMessage>): boolean {
  const known = holdsStrings.get(desc);
  if (known !== undefined) return known;
  // Made only on a type's first visit: the walk asks about every field of every request.
  const visiting = visitingTypes ?? new Set<DescMessage>();
  if (visiting.has(desc)) return true;
  visiting.add(desc);
  const answer = desc.fields.some((f) => fieldMayHoldStrings(f, visiting));
  visiting.delete(desc);
  holdsStrings.set(desc, answer);
  return answer;
}

function fieldMayHoldStrings(field: DescField, visiting?: Set<DescMessage>): boolean {
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar === ScalarType.STRING;
    case "message":
      return mayHoldStrings(field.message, visiting);
    case "list":
      return field.listKind === "message"
        ? mayHoldStrings(field.message, visiting)
        : field.scalar === ScalarType.STRING;
    case "map":
      return (
        field.mapKey === ScalarType.STRING ||
        (field.mapKind === "message" ? mayHoldStrings(field.message, visiting) : field.scalar === ScalarType.STRING)
      );
    default:
      return false;
  }
}
