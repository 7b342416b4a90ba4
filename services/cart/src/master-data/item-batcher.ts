import { Code, ConnectError } from "@connectrpc/connect";
import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import DataLoader from "dataloader";
import { callerDeadlineError } from "./deadline.js";
import type { CallOptions, ItemScope } from "./item-client.js";

/** One item code wanted by one caller (a cart call), with that caller's limits. */
export interface WantedItem {
  scope: ItemScope;
  code: string;
  call: CallOptions;
  /** The caller's deadline (epoch ms) when it asked; undefined: none of its own. */
  deadline: number | undefined;
}

interface Pending extends WantedItem {
  /** Fails this caller's wait before a shared call ends: its own deadline passed, or it went away. */
  leave(err: ConnectError): void;
}

/** Sends one BatchGetItemDetails for `codes` of one store; found items by code. */
export type FetchItems = (scope: ItemScope, codes: string[], call: CallOptions) => Promise<Map<string, Item>>;

export interface ItemBatcher {
  /** The item, or undefined when master-data does not know the code. */
  load(wanted: WantedItem): Promise<Item | undefined>;
  /** Codes that went in a call shared with another caller's codes. */
  shared(): number;
}

// A control character cannot appear in a validated tenant or store code, so groups never collide.
const sep = "\u001f";

/**
 * The lookups of concurrent cart calls, sent as one BatchGetItemDetails per store: every code
 * asked for while the event loop handles one round of I/O (requests that arrived together) leaves
 * in one call when that round ends (setImmediate), so a busy cart makes a fraction of the calls and
 * an idle one waits no timer. DataLoader does the collecting and the per-key answers; this module
 * only decides what one shared call carries and whose limits it runs under.
 */
export function createItemBatcher(
  fetch: FetchItems,
  options: {
    batchSize: number;
    now: () => number;
    /** Told of each error that only means "this caller left": whoever joined its fetch asks again. */
    markLeft: (err: ConnectError) => void;
  },
): ItemBatcher {
  const { batchSize, now, markLeft } = options;
  let sharedCodes = 0;

  async function sendGroup(group: Pending[], results: (Item | undefined | Error)[], at: number[]): Promise<void> {
    const first = group[0] as Pending;
    const callers = byCaller(group);
    const sameTerminal = group.every((w) => w.scope.terminalId === first.scope.terminalId);
    const scope: ItemScope = {
      tenantId: first.scope.tenantId,
      storeCode: first.scope.storeCode,
      // master-data logs the asking terminal; a shared call asks for several.
      terminalId: sameTerminal ? first.scope.terminalId : "",
    };
    if (callers.size > 1) sharedCodes += group.length;
    // One caller: the call runs under its limits, exactly as without batching. Several: under all
    // of theirs (sharedCall), and each one leaves at its own deadline or abort.
    const { call, release } = callers.size === 1 ? { call: first.call, release: () => {} } : sharedCall(group, now);
    const leaving = callers.size === 1 ? () => {} : leaveOnOwnLimits(callers, now, markLeft);
    try {
      const found = await fetch(
        scope,
        group.map((w) => w.code),
        call,
      );
      group.forEach((w, i) => {
        results[at[i] as number] = found.get(w.code);
      });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const i of at) results[i] = err;
    } finally {
      release();
      leaving();
    }
  }

  const loader = new DataLoader<Pending, Item | undefined>(
    async (wanted) => {
      // Per store, in chunks master-data accepts; each code once (a lookup never asks for one
      // already in flight, so duplicates only come from callers racing in the same round).
      const groups = new Map<string, { items: Pending[]; at: number[]; codes: Map<string, number> }[]>();
      const results: (Item | undefined | Error)[] = new Array(wanted.length);
      const copies: [number, number][] = [];
      wanted.forEach((w, i) => {
        const key = w.scope.tenantId + sep + w.scope.storeCode;
        let chunks = groups.get(key);
        if (chunks === undefined) {
          chunks = [];
          groups.set(key, chunks);
        }
        const seen = chunks.find((c) => c.codes.has(w.code));
        if (seen !== undefined) {
          copies.push([i, seen.codes.get(w.code) as number]);
          return;
        }
        let chunk = chunks.at(-1);
        if (chunk === undefined || chunk.items.length >= batchSize) {
          chunk = { items: [], at: [], codes: new Map() };
          chunks.push(chunk);
        }
        chunk.items.push(w);
        chunk.at.push(i);
        chunk.codes.set(w.code, i);
      });
      const sends: Promise<void>[] = [];
      for (const chunks of groups.values()) for (const c of chunks) sends.push(sendGroup(c.items, results, c.at));
      await Promise.all(sends);
      for (const [i, from] of copies) results[i] = results[from];
      return results;
    },
    // No cache: the item cache (item-cache.ts) decides what is reused, and for how long.
    { cache: false, batchScheduleFn: (send) => setImmediate(send) },
  );

  return {
    load: (wanted) =>
      new Promise<Item | undefined>((resolve, reject) => {
        loader.load({ ...wanted, leave: reject }).then(resolve, reject);
      }),
    shared: () => sharedCodes,
  };
}

/**
 * The limits of a call made for several callers: it may run until the LAST of their deadlines
 * (each caller still leaves at its own: leaveOnOwnLimits), and it is cancelled only once EVERY
 * caller has gone. A caller without a deadline or a signal leaves the call without one.
 */
function sharedCall(group: Pending[], now: () => number): { call: CallOptions; release: () => void } {
  const deadlines = group.map((w) => w.deadline);
  const timeoutMs = deadlines.includes(undefined)
    ? undefined
    : Math.max(0, Math.max(...(deadlines as number[])) - now());
  const signals = new Set(group.map((w) => w.call.signal));
  if (signals.has(undefined)) return { call: { timeoutMs }, release: () => {} };
  const all = new AbortController();
  let left = 0;
  const onAbort = (): void => {
    left++;
    if (left === signals.size) all.abort(new Error("every caller of a shared master-data call went away"));
  };
  for (const s of signals as Set<AbortSignal>) {
    if (s.aborted) onAbort();
    else s.addEventListener("abort", onAbort, { once: true });
  }
  return {
    call: { signal: all.signal, timeoutMs },
    release: () => {
      for (const s of signals as Set<AbortSignal>) s.removeEventListener("abort", onAbort);
    },
  };
}

/** The group's codes by the caller that wants them (one entry per cart call). */
function byCaller(group: Pending[]): Map<CallOptions, Pending[]> {
  const callers = new Map<CallOptions, Pending[]>();
  for (const w of group) {
    const mine = callers.get(w.call);
    if (mine === undefined) callers.set(w.call, [w]);
    else mine.push(w);
  }
  return callers;
}

/** Timers and abort listeners that fail each caller's wait at its own limit; returns their cleanup. */
function leaveOnOwnLimits(
  callers: Map<CallOptions, Pending[]>,
  now: () => number,
  markLeft: (err: ConnectError) => void,
): () => void {
  const cleanups: (() => void)[] = [];
  for (const [call, wanted] of callers) {
    const first = wanted[0] as Pending;
    const leave = (err: ConnectError): void => {
      markLeft(err);
      for (const w of wanted) w.leave(err);
    };
    if (first.deadline !== undefined) {
      const timer = setTimeout(
        () =>
          leave(callerDeadlineError(`master-data did not answer within the caller's deadline (${call.timeoutMs} ms)`)),
        Math.max(0, first.deadline - now()),
      );
      cleanups.push(() => clearTimeout(timer));
    }
    const signal = call.signal;
    if (signal !== undefined) {
      const onAbort = (): void =>
        leave(new ConnectError("master-data call abandoned: the caller went away", Code.Canceled));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener("abort", onAbort));
      }
    }
  }
  return () => {
    for (const c of cleanups) c();
  };
}
