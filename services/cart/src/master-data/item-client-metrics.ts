import { Counter, Gauge, type Registry } from "prom-client";
import type { ItemClient } from "./item-client.js";

/** How cart talks to master-data, as labels: one transport per process. */
export interface TransportLabels {
  protocol: string;
  http_version: string;
  format: string;
}

/**
 * The master-data client's own counters (calls, retries, retry budget, breaker, cache, coalescing),
 * read from its stats() when Prometheus scrapes: nothing per call, and the client needs no change.
 */
export function registerItemClientMetrics(registry: Registry, client: ItemClient, transport: TransportLabels): void {
  const labelNames = ["protocol", "http_version", "format"] as const;
  const counter = (name: string, help: string, read: (s: ReturnType<ItemClient["stats"]>) => number) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(transport, read(client.stats()));
      },
    });
  counter(
    "pos_cart_master_data_calls_total",
    "master-data RPCs started by cart (retries not included)",
    (s) => s.calls,
  );
  counter("pos_cart_master_data_retries_total", "Extra attempts sent to master-data by the retrier", (s) => s.retries);
  counter(
    "pos_cart_master_data_cache_hits_total",
    "Item codes and tax lists answered from cart's cache",
    (s) => s.cacheHits,
  );
  counter(
    "pos_cart_master_data_cache_misses_total",
    "Item codes and tax lists not in cart's cache (fetched, or joined to a fetch in flight)",
    (s) => s.cacheMisses,
  );
  counter(
    "pos_cart_master_data_coalesced_total",
    "Lookups that joined another caller's fetch in flight instead of sending their own",
    (s) => s.coalesced,
  );
  counter(
    "pos_cart_master_data_batched_total",
    "Item codes sent in a call shared with other cart calls' codes",
    (s) => s.batched,
  );
  counter(
    "pos_cart_master_data_breaker_opened_total",
    "Times the master-data circuit breaker opened",
    (s) => s.breakerOpened,
  );
  counter(
    "pos_cart_master_data_breaker_rejected_total",
    "Calls the open breaker failed fast without sending",
    (s) => s.breakerRejected,
  );
  new Gauge({
    name: "pos_cart_master_data_retry_budget_tokens",
    help: "Tokens left in the process-wide retry budget (retries stop below half)",
    labelNames,
    registers: [registry],
    collect() {
      this.set(transport, client.stats().retryTokens);
    },
  });
  const states = ["closed", "open", "half-open"] as const;
  new Gauge({
    name: "circuit_breaker_state",
    help: "State of each circuit breaker as a state set: 1 for the current state, 0 for the others",
    labelNames: ["name", "state"],
    registers: [registry],
    collect() {
      const now = client.stats().breaker;
      for (const state of states) this.set({ name: "master-data", state }, state === now ? 1 : 0);
    },
  });
}
