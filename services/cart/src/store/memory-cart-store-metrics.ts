import { Counter, Gauge, type Registry } from "prom-client";
import type { MemoryCartStore } from "./memory-cart-store.js";

/** The embedded store's bound, read from its stats() when Prometheus scrapes (nothing per call). */
export function registerMemoryCartStoreMetrics(registry: Registry, store: Pick<MemoryCartStore, "stats">): void {
  const registers = [registry];
  new Gauge({
    name: "pos_cart_memory_store_carts",
    help: "Carts held by the in-memory cart store (expired ones included until they are touched or evicted)",
    registers,
    collect() {
      this.set(store.stats().carts);
    },
  });
  new Gauge({
    name: "pos_cart_memory_store_max_carts",
    help: "The in-memory cart store's bound (MEMORY_CART_STORE_MAX_CARTS)",
    registers,
    collect() {
      this.set(store.stats().maxCarts);
    },
  });
  new Gauge({
    name: "pos_cart_memory_store_bytes",
    help: "Estimated heap of the carts the in-memory cart store holds (its bound: MEMORY_CART_STORE_MAX_MB)",
    registers,
    collect() {
      this.set(store.stats().bytes);
    },
  });
  new Counter({
    name: "pos_cart_memory_store_evictions_total",
    help: "Carts the full in-memory store dropped, least recently used first",
    registers,
    collect() {
      this.reset();
      this.inc(store.stats().evictions);
    },
  });
}
