// Memory per cart, as cart's stores hold them: `pnpm bench:cart-memory` (needs Redis at REDIS_URL,
// default redis://127.0.0.1:6379; node --expose-gc for the in-memory store's heap numbers).
//
// Carts are made by the real CartService handlers (CreateCart, one AddLineItems of 0, 3 or 100 lines
// priced by a real master-data on a socket), so they carry what real carts carry: lines, tax lines,
// totals, timestamps. Redis: MEMORY USAGE of each cart's key (the value is protobuf binary) plus its
// place in the terminal's open-carts set. Memory store: heap growth per cart after a full GC.
import { randomBytes } from "node:crypto";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import {
  type CartStore,
  connectRedisCartStore,
  createCartService,
  createItemClient,
  createMasterDataTransport,
  createMemoryCartStore,
  createMemoryTransactionLog,
} from "@pos/cart";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import { startMasterData } from "@pos/master-data/testing";
import { createClient as createRedisClient } from "redis";

const shapes = [0, 3, 100];
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const gc = (globalThis as { gc?: () => void }).gc;

const masterData = await startMasterData();
const transport = createMasterDataTransport(
  { url: masterData.baseUrl, protocol: "connect", httpVersion: "1.1", format: "binary" },
  { timeoutMs: 5000 },
);
const items = createItemClient(transport, { cache: { ttlMs: 600_000, maxEntries: 10_000 } });

function cartClient(carts: CartStore) {
  const service = createCartService({ carts, transactions: createMemoryTransactionLog(), items });
  return createClient(
    CartService,
    createRouterTransport((router) => router.service(CartService, service)),
  );
}

const scope = { tenantId: "T0001", storeCode: `M${randomBytes(3).toString("hex")}` };

/** Makes `count` carts of `lines` lines each (on terminals of 40 carts); answers their ids. */
async function makeCarts(client: ReturnType<typeof cartClient>, count: number, lines: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { cart } = await client.createCart({ ...scope, terminalId: `R${Math.floor(i / 40)}`, staffId: "S1" });
    const cartId = cart?.cartId ?? "";
    if (lines > 0) {
      await client.addLineItems({
        cart: { ...scope, cartId },
        items: Array.from({ length: lines }, (_, n) => ({
          itemCode: `ITEM${String((i * 7 + n) % 10_000).padStart(4, "0")}`,
          quantity: 1 + (n % 3),
        })),
      });
    }
    ids.push(cartId);
  }
  return ids;
}

const rows: string[] = [];

// Redis: the cart's key as stored, and its share of the terminal's open-carts set.
{
  const keyPrefix = `bench:cart-memory:${randomBytes(3).toString("hex")}:`;
  const store = await connectRedisCartStore(redisUrl, { timeoutMs: 5000, keyPrefix, maxOpenCartsPerTerminal: 1000 });
  const raw = await createRedisClient({ url: redisUrl }).connect();
  const client = cartClient(store);
  try {
    for (const lines of shapes) {
      const ids = await makeCarts(client, 40, lines);
      let usage = 0;
      let value = 0;
      for (const cartId of ids) {
        const key = `${keyPrefix}cart:${scope.tenantId}:${scope.storeCode}:${encodeURIComponent(cartId)}`;
        usage += (await raw.memoryUsage(key, { SAMPLES: 0 })) ?? 0;
        value += await raw.strLen(key);
      }
      rows.push(
        `| Redis (MEMORY USAGE of the key) | ${lines} | ${Math.round(usage / ids.length)} | ${Math.round(value / ids.length)} |`,
      );
      scope.storeCode = `M${randomBytes(3).toString("hex")}`;
    }
    const openSet = `${keyPrefix}open:${scope.tenantId}:*`;
    const sets: string[] = [];
    for await (const batch of raw.scanIterator({ MATCH: openSet, COUNT: 1000 })) sets.push(...batch);
    let setBytes = 0;
    let members = 0;
    for (const k of sets) {
      setBytes += (await raw.memoryUsage(k, { SAMPLES: 0 })) ?? 0;
      members += await raw.zCard(k);
    }
    if (members > 0)
      rows.push(`| Redis, open-carts set per terminal (per cart) | – | ${Math.round(setBytes / members)} | – |`);
  } finally {
    const keys: string[] = [];
    for await (const batch of raw.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 1000 })) keys.push(...batch);
    if (keys.length > 0) await raw.del(keys);
    await raw.close();
    await store.close();
  }
}

// The in-memory store: heap growth per cart (protobuf-es objects, frozen), after a full GC.
if (gc === undefined) {
  rows.push("| memory store | – | run with node --expose-gc | – |");
} else {
  for (const lines of shapes) {
    const count = lines >= 100 ? 400 : 2000;
    const store = createMemoryCartStore({ maxOpenCartsPerTerminal: 1000, maxCarts: 1_000_000 });
    const client = cartClient(store);
    // Warm: item cache, tax list, code paths.
    await makeCarts(client, 5, lines);
    gc();
    const before = process.memoryUsage().heapUsed;
    await makeCarts(client, count, lines);
    gc();
    const after = process.memoryUsage().heapUsed;
    rows.push(`| memory store (heap per cart) | ${lines} | ${Math.round((after - before) / count)} | – |`);
    await store.close();
    scope.storeCode = `M${randomBytes(3).toString("hex")}`;
  }
}

console.log(
  [
    `Memory per cart (${new Date().toISOString().slice(0, 10)}, Node ${process.version})`,
    "",
    "| store | lines | bytes per cart | protobuf value bytes |",
    "| ----- | ----: | -------------: | -------------------: |",
    ...rows,
  ].join("\n"),
);
transport.close();
await masterData.close();
