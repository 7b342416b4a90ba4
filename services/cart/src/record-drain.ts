import { type Cart, CartStatus } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { Gauge, type Registry } from "prom-client";
import type { SaleMetrics } from "./sale-metrics.js";
import { type CartStore, cartKeyOf } from "./store/cart-store.js";
import type { TransactionLog } from "./store/transaction-log.js";

export interface RecordDeps {
  carts: CartStore;
  transactions: TransactionLog;
  sales?: SaleMetrics | undefined;
}

/**
 * Writes a closed cart's transaction record (once per cart: the log's unique
 * index makes a repeat write nothing) and drops it from the cart store's
 * outbox. Used by Bill/CancelCart right after closing and by the drain for
 * what they could not write.
 */
export async function recordClosed(cart: Cart, deps: RecordDeps): Promise<{ written: boolean }> {
  const kind = cart.status === CartStatus.COMPLETED ? "sale" : "cancel";
  const { written } = await deps.transactions.record({ kind, cart });
  // Counted once per cart, by whoever wrote the record.
  if (written) deps.sales?.closed(kind, cart);
  // The record is durable now; should forgetting the entry fail, the drain writes it again (a no-op) and forgets it then.
  await deps.carts.recorded(cartKeyOf(cart)).catch(() => undefined);
  return { written };
}

/** The part of a pino/fastify logger the drain uses. */
export interface DrainLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RecordDrainOptions {
  /** Pause between passes. Default 1,000. */
  intervalMs?: number;
  /** Entries younger than this are left to their own Bill. Default 5,000. */
  minAgeMs?: number;
  /** Entries read per round trip. Default 100. */
  batch?: number;
}

export interface RecordDrain {
  /** Passes every `intervalMs` until stop(); logs when records wait and when they are written. */
  start(log?: DrainLog): void;
  /** One pass over every due entry; rejects (leaving the rest for later) when the log or the store fails. */
  drainOnce(): Promise<{ written: number; already: number }>;
  /** No pass starts after this; resolves when the one running ended. */
  stop(): Promise<void>;
}

/**
 * The outbox's drain: every closed cart whose record Bill/CancelCart could not
 * write (the transaction log was down, the process died) is recorded here,
 * retried each pass until the log takes it. The outbox lives in the cart
 * store, so a restarted process, or any replica, resumes where it stopped;
 * replicas draining the same entry write one record (the log's unique index).
 */
export function createRecordDrain(deps: RecordDeps, options: RecordDrainOptions = {}): RecordDrain {
  const intervalMs = options.intervalMs ?? 1000;
  const minAgeMs = options.minAgeMs ?? 5000;
  const batch = options.batch ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  let failing = false;

  async function drainOnce(): Promise<{ written: number; already: number }> {
    const done = { written: 0, already: 0 };
    for (;;) {
      const due = await deps.carts.pendingRecords({ limit: batch, minAgeMs });
      for (const cart of due) {
        if ((await recordClosed(cart, deps)).written) done.written++;
        else done.already++;
      }
      if (due.length < batch || stopped) return done;
    }
  }

  function schedule(log: DrainLog | undefined): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = drainOnce().then(
        (done) => {
          if (failing || done.written > 0) {
            log?.info({ ...done }, `transaction records written from the outbox: ${done.written}`);
          }
          failing = false;
        },
        (e: unknown) => {
          // Once per outage, not once per pass.
          if (!failing) {
            log?.warn(
              { err: e instanceof Error ? e.message : String(e), retryEveryMs: intervalMs },
              "closed carts wait in the outbox: their transaction records cannot be written yet",
            );
          }
          failing = true;
        },
      );
      void running.finally(() => schedule(log));
    }, intervalMs);
    // A pending pass must not keep a process alive that is otherwise done.
    timer.unref();
  }

  return {
    start(log) {
      if (timer === undefined && !stopped) schedule(log);
    },
    drainOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** Records waiting in the outbox, counted when Prometheus scrapes (NaN while the cart store does not answer). */
export function registerOutboxMetrics(registry: Registry, carts: Pick<CartStore, "countPendingRecords">): void {
  new Gauge({
    name: "pos_cart_outbox_pending_records",
    help: "Closed carts whose transaction record is not written yet (the drain retries them; growing = the log is down)",
    registers: [registry],
    async collect() {
      this.set(await carts.countPendingRecords().catch(() => Number.NaN));
    },
  });
}
