import { type DescField, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

// Deep-frozen protobuf-es messages: values that can be shared between calls (no copy per read) and
// whose encodings may be cached, because nothing can change them any more.

/** Messages frozen whole by freezeMessage (the roots it was called on: their parts are frozen with them). */
const frozen = new WeakSet<object>();

/**
 * Freezes `message` and everything reachable from it (sub-messages, lists, maps), and records it as
 * immutable for isFrozenMessage. A message holding bytes (a Uint8Array cannot be frozen) or
 * unknown fields is frozen as far as it goes but not recorded: its content could still change.
 * Returns `message`, now read-only: writing to it throws in strict code.
 */
export function freezeMessage<T extends object>(message: T): T {
  if (freeze(message)) frozen.add(message);
  return message;
}

/** Whether `value` was frozen whole by freezeMessage: its content (and so its encoding) never changes. */
export function isFrozenMessage(value: object): boolean {
  return frozen.has(value);
}

/**
 * Freezes the tree; true when all of it is immutable now. Only roots are recorded (a smaller set
 * for GC to trace); a part shared with an earlier root is recognised when it is that root.
 */
function freeze(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (frozen.has(value)) return true;
  // A typed array cannot be frozen (bytes fields, unknown fields): the tree stays mutable there.
  if (ArrayBuffer.isView(value)) return false;
  let whole = true;
  for (const v of Object.values(value)) whole = freeze(v) && whole;
  Object.freeze(value);
  return whole;
}

// The binary encoding of each frozen message, made once: a frozen message's bytes never change.
const encodings = new WeakMap<object, Uint8Array>();

/**
 * `toBinary`, reusing the bytes of frozen sub-messages: a cart of 200 lines that gained one line
 * is encoded as its other fields plus 200 cached line encodings and one new one, so the cost of
 * a response (or a store write) follows what changed, not the cart's length. The output is valid
 * protobuf that any parser reads as the same message; only the order of fields on the wire
 * differs from toBinary's (the reused message fields come last, each list still in order), which
 * the encoding allows. Oneof, map and delimited (group) fields are left to toBinary.
 */
export function toBinaryReusing<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Uint8Array {
  const frozenWhole = isFrozenMessage(message);
  if (frozenWhole) {
    const known = encodings.get(message);
    if (known !== undefined) return known;
  }
  const record = message as unknown as Record<string, unknown>;
  // Only what can come from the cache is encoded apart; everything else stays in one toBinary.
  const apart = reusableFields(schema).filter((f) => worthReusing(f, record[f.localName]));
  let bytes: Uint8Array;
  if (apart.length === 0) {
    bytes = toBinary(schema, message);
  } else {
    // The message without those fields (a shallow copy: the original may be frozen).
    const rest: Record<string, unknown> = { ...record };
    for (const f of apart) rest[f.localName] = f.fieldKind === "list" ? [] : undefined;
    const writer = new BinaryWriter().raw(toBinary(schema, rest as MessageShape<Desc>));
    for (const f of apart) {
      const value = record[f.localName];
      const elements = (f.fieldKind === "list" ? value : [value]) as MessageShape<DescMessage>[];
      for (const element of elements) {
        writer.tag(f.number, WireType.LengthDelimited).bytes(toBinaryReusing(f.message, element));
      }
    }
    bytes = writer.finish();
  }
  if (frozenWhole) encodings.set(message, bytes);
  return bytes;
}

/** Below this many elements, encoding a list apart costs more than toBinary saves (measured). */
export const reusableListLength = 16;

/**
 * Whether encoding `value` apart pays: a frozen message whose bytes are cached, a long frozen list
 * of frozen messages, or a frozen message holding such a list.
 */
function worthReusing(f: ReusableField, value: unknown): boolean {
  if (typeof value !== "object" || value === null || !Object.isFrozen(value)) return false;
  if (f.fieldKind === "list") {
    const list = value as unknown[];
    const first = list[0];
    return list.length >= reusableListLength && typeof first === "object" && first !== null && isFrozenMessage(first);
  }
  if (encodings.has(value)) return true;
  const record = value as Record<string, unknown>;
  return reusableFields(f.message).some((g) => worthReusing(g, record[g.localName]));
}

type ReusableField =
  | (DescField & { fieldKind: "message"; oneof: undefined })
  | (DescField & { fieldKind: "list"; listKind: "message" });

const reusable = new WeakMap<DescMessage, ReusableField[]>();

/** The message and message-list fields that toBinaryReusing may encode itself (per schema, once). */
function reusableFields(schema: DescMessage): ReusableField[] {
  let fields = reusable.get(schema);
  if (fields === undefined) {
    fields = schema.fields.filter(
      (f): f is ReusableField =>
        (f.fieldKind === "message" && f.oneof === undefined && !f.delimitedEncoding) ||
        (f.fieldKind === "list" && f.listKind === "message" && !f.delimitedEncoding),
    );
    reusable.set(schema, fields);
  }
  return fields;
}
