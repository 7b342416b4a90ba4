import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRepeatLog, type Repeated } from "./repeat-log.js";

describe("repeat log", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes the first occurrence at once, then one line per interval with the count, then stops", () => {
    const lines: (Repeated | undefined | string)[] = [];
    const log = createRepeatLog({ intervalMs: 10_000 });
    const occur = (n: number, key = "a") => {
      for (let i = 0; i < n; i++) log.occurred(key, (r) => lines.push(r ?? `first ${key}`));
    };
    occur(1000);
    expect(lines).toEqual(["first a"]);
    vi.advanceTimersByTime(10_000);
    expect(lines).toEqual(["first a", { count: 999, intervalMs: 10_000 }]);
    occur(5);
    vi.advanceTimersByTime(10_000);
    expect(lines.at(-1)).toEqual({ count: 5, intervalMs: 10_000 });
    // A quiet interval: nothing written, and the next occurrence is a first one again.
    vi.advanceTimersByTime(10_000);
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(3);
    occur(1);
    expect(lines.at(-1)).toBe("first a");
  });

  it("keeps keys apart and writes everything once it tracks maxKeys", () => {
    const lines: string[] = [];
    const log = createRepeatLog({ intervalMs: 1_000, maxKeys: 2 });
    for (const key of ["a", "b", "a", "c", "c"])
      log.occurred(key, (r) => lines.push(r === undefined ? key : `${key}×${r.count}`));
    expect(lines).toEqual(["a", "b", "c", "c"]);
    vi.advanceTimersByTime(1_000);
    expect(lines).toEqual(["a", "b", "c", "c", "a×1"]);
  });
});
