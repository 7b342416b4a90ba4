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
