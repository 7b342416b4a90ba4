/** Where a limit log line goes (the service logger's warn). */
export type LimitLogSink = (fields: Record<string, unknown>, message: string) => void;

export interface LimitLog {
  /** A limit bit: `limit` names it (`max_connections`, `http2_max_concurrent_streams`, …). */
  bite(limit: string, remoteAddress: string | undefined): void;
}

/**
 * Logs limits as they bite, at most once per interval per limit: the first bite at once (with
 * the remote address), the ones after it within the interval as one line at its end (how many,
 * from how many addresses, the last one). A flood must not become a flood of log lines.
 */
export function createLimitLog(sink: LimitLogSink, intervalMs = 10_000): LimitLog {
  const windows = new Map<string, { count: number; addresses: Set<string>; last: string; timer: NodeJS.Timeout }>();
  return {
    bite(limit, remoteAddress) {
      const address = remoteAddress ?? "unknown";
      const open = windows.get(limit);
      if (open !== undefined) {
        open.count++;
        // Bounded: only the number of addresses is logged, and past 1,000 it is "at least".
        if (open.addresses.size < 1000) open.addresses.add(address);
        open.last = address;
        return;
      }
      sink({ limit, remote_address: address }, "limit reached");
      const window = {
        count: 0,
        addresses: new Set<string>(),
        last: address,
        timer: setTimeout(() => {
          windows.delete(limit);
          if (window.count > 0) {
            sink(
              {
                limit,
                remote_address: window.last,
                count: window.count,
                addresses: window.addresses.size,
                interval_ms: intervalMs,
              },
              "limit reached again",
            );
          }
        }, intervalMs),
      };
      window.timer.unref();
      windows.set(limit, window);
    },
  };
}
