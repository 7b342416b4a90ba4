/**
 * Repeated identical failures logged as a rate: the first occurrence of a key at once, then one
 * summary line per interval with how many more there were, and nothing once they stop. An outage
 * that fails every call writes a line per failure kind per interval, not a line per call.
 */
export interface RepeatLog {
  /**
   * `write(undefined)` for the first occurrence of `key` (or the first after a quiet interval);
   * later ones in the interval are counted, and the last one's `write` is called at its end with
   * the count.
   */
  occurred(key: string, write: (repeated: Repeated | undefined) => void): void;
}

export interface Repeated {
  /** Occurrences since the line before. */
  count: number;
  intervalMs: number;
}

export interface RepeatLogOptions {
  intervalMs?: number;
  /** Keys tracked at once; past it every occurrence is written (a flood of distinct failures is itself news). */
  maxKeys?: number;
}

export function createRepeatLog(options: RepeatLogOptions = {}): RepeatLog {
  const intervalMs = options.intervalMs ?? 10_000;
  const maxKeys = options.maxKeys ?? 1_000;
  const seen = new Map<string, { count: number; write: (repeated: Repeated | undefined) => void }>();

  const tick = (key: string): void => {
    const entry = seen.get(key);
    if (entry === undefined) return;
    if (entry.count === 0) {
      seen.delete(key);
      return;
    }
    const { count, write } = entry;
    entry.count = 0;
    setTimeout(() => tick(key), intervalMs).unref();
    write({ count, intervalMs });
  };

  return {
    occurred(key, write) {
      const entry = seen.get(key);
      if (entry !== undefined) {
        entry.count++;
        entry.write = write;
        return;
      }
      if (seen.size < maxKeys) {
        seen.set(key, { count: 0, write });
        setTimeout(() => tick(key), intervalMs).unref();
      }
      write(undefined);
    },
  };
}
