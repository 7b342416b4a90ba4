import { createHash } from "node:crypto";
import { clone, fromBinary, fromJsonString, toBinary } from "@bufbuild/protobuf";
import { StoreTimeoutError, StoreUnavailableError, shortReason, toBinaryReusing } from "@pos/common";
import { type Cart, CartSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import { LRUCache } from "lru-cache";
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  createCluster,
  ErrorReply,
  RESP_TYPES,
  ReconnectStrategyError,
  TimeoutError as RedisTimeoutError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from "redis";
import {
  assertSameKey,
  CartConflictError,
  CartExistsError,
  type CartKey,
  type CartStore,
  cartKeyOf,
  defaultCartTtlSeconds,
  defaultClosedCartTtlSeconds,
  defaultMaxOpenCartsPerTerminal,
  freezeCart,
  isClosed,
  TooManyOpenCartsError,
} from "./cart-store.js";
import { type RedisPersistence, readRedisPersistence } from "./redis-persistence.js";
import { parseRedisUrl } from "./redis-url.js";

export interface RedisCartStoreOptions {
  /** Default 36,000 (ten hours). */
  ttlSeconds?: number;
  /** Lifetime of a billed or cancelled cart. Default 900. */
  closedTtlSeconds?: number;
  /** Default 50. */
  maxOpenCartsPerTerminal?: number;
  /** Put before every key, e.g. "test:ab12:" to keep a test run's keys apart. Default "". */
  keyPrefix?: string;
  /** Hash-tag the keys (cart:{…}) so that one cart's keys share a Redis Cluster slot. Default false. */
  hashTag?: boolean;
  /** Bound for each command, its reply included. Default 2,000. */
  timeoutMs?: number;
  /** Carts whose last value the store remembers (bytes and parsed). Default 10,000. */
  knownCarts?: number;
  /** Tries of one update before CartConflictError. Default 100. */
  maxUpdateAttempts?: number;
  /**
   * Longest an update waits behind the other updates of the same cart from this
   * process. Default 10,000: a busy cart (100 concurrent adds) queues for
   * longer than one command's bound, yet a silent Redis must not hold callers forever.
   */
  queueTimeoutMs?: number;
}

export interface ConnectRedisCartStoreOptions extends RedisCartStoreOptions {
  /** Bound for connecting and for every command. */
  timeoutMs: number;
}

/** The client type createRedisCartStore works on: what `createClient` from "redis" returns. */
export type RedisCartClient = ReturnType<typeof createClient> | ReturnType<typeof createCluster>;

/**
 * Compare-and-set: SET only if the cart is still the one the caller read
 * (compared by SHA-1, so the old value need not travel back). Replies 1 when
 * written, nil when the cart is gone, else the newer value, which saves the
 * retry a GET.
 */
const casScript = `
local current = redis.call('GET', KEYS[1])
if not current then return false end
if redis.sha1hex(current) ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[2]) end
return 1
`;
const casSha = sha1(casScript);

/**
 * One terminal's open carts: a sorted set of cart ids scored by creation time. Drops the ones
 * created longer than a cart TTL ago (expired, unless updated since: the count errs on the lenient
 * side), then adds the new one unless the cap is reached. Replies 1 when added, 0 when full.
 */
const openScript = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`;
const openSha = sha1(openScript);

/**
 * An outbox entry whose closed cart never got written (its Bill failed between filing the index entry
 * and the compare-and-set) is dropped from the index after this long: far beyond any Bill's bounds.
 */
const staleIndexEntryMs = 5 * 60_000;

/** Redis error replies that mean "not now" rather than "wrong command". */
const unavailableReplies = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

/**
 * Connects to Redis and returns a store that owns the client: close() closes
 * it. Fails with StoreUnavailableError when Redis cannot be reached within
 * `timeoutMs` rather than retrying in the background: a wrong URL should stop
 * start-up, not surface as the first cart's error.
 */
/** A store that owns its client, and can tell what that Redis keeps across a restart. */
export type ConnectedRedisCartStore = CartStore & {
  /** Each server's persistence settings (every master of a cluster), for the start-up check. */
  persistence(): Promise<RedisPersistence[]>;
};

export async function connectRedisCartStore(
  url: string,
  options: ConnectRedisCartStoreOptions,
): Promise<ConnectedRedisCartStore> {
  const target = parseRedisUrl(url);
  if (target.kind === "invalid") throw new Error(`REDIS_URL ${target.problem}`);
  let everReady = false;
  const common = {
    // Commands fail at once while disconnected instead of queueing for a reconnect that may never come.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.timeoutMs,
      reconnectStrategy: (retries: number, cause: Error) =>
        everReady ? Math.min(50 * 2 ** retries, 2000) + Math.floor(Math.random() * 100) : cause,
    },
  };
  // One server, or a Redis Cluster: node-redis routes each command to the node owning its key's slot.
  const single = target.kind === "single" ? createClient({ url: target.url, ...common }) : undefined;
  const cluster =
    target.kind === "cluster"
      ? createCluster({
          rootNodes: target.nodeUrls.map((nodeUrl) => ({ url: nodeUrl })),
          defaults: { ...target.credentials, ...common },
        })
      : undefined;
  const client: RedisCartClient = single ?? (cluster as ReturnType<typeof createCluster>);
  // Without a listener an 'error' event would crash the process; commands report failures themselves.
  client.on("error", () => undefined);
  try {
    // connect() waits for the handshake too, which a server that accepts but never answers stalls forever.
    await withTimeout<unknown>(client.connect(), options.timeoutMs, () => noAnswer("connect", options.timeoutMs));
    everReady = true;
  } catch (e) {
    destroyQuietly(client);
    throw toStoreError(e, "connect");
  }
  const store = createRedisCartStore(client, { ...options, hashTag: target.kind === "cluster" });
  const bounded = <T>(what: string, pending: Promise<T>) =>
    withTimeout(pending, options.timeoutMs, () => noAnswer(what, options.timeoutMs)).catch((e: unknown) => {
      throw toStoreError(e, what);
    });
  return {
    ...store,
    async persistence() {
      if (single !== undefined) {
        const where = new URL(target.kind === "single" ? target.url : "redis://unknown");
        return [await bounded("persistence", readRedisPersistence(single, `${where.hostname}:${where.port || 6379}`))];
      }
      if (cluster === undefined) return [];
      return Promise.all(
        cluster.masters.map((master) =>
          bounded(
            "persistence",
            Promise.resolve(cluster.nodeClient(master)).then((node) =>
              readRedisPersistence(node, `${master.host}:${master.port}`),
            ),
          ),
        ),
      );
    },
    close: async () => {
      // close() waits for commands in flight; a stalled server must not stall shutdown.
      await withTimeout(client.close(), options.timeoutMs, () => noAnswer("close", options.timeoutMs)).catch(() =>
        destroyQuietly(client),
      );
    },
  };
}

/**
 * A store on a client the caller owns (close() leaves it open). Every command
 * shares that one connection; concurrent updates pipeline on it.
 *
 * Carts are stored as protobuf binary (older JSON values are still read). The
 * store remembers the last value it read or wrote per cart with its parsed,
 * frozen form: a read whose bytes are unchanged skips the parse, and an update
 * goes straight to compare-and-set with the remembered value (one round trip;
 * a stale guess costs one retry, since the script answers the current value).
 * So an update costs one serialisation and one SHA-1 of the new cart, not a
 * JSON round trip of the whole cart per call.
 *
 * Updates of one cart from this process also wait for each other, so N callers
 * do not race optimistically (O(N²) work); races with other processes remain,
 * and compare-and-set settles those.
 */
export function createRedisCartStore(client: RedisCartClient, options: RedisCartStoreOptions = {}): CartStore {
  const ttlSeconds = options.ttlSeconds ?? defaultCartTtlSeconds;
  const keyPrefix = options.keyPrefix ?? "";
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxAttempts = options.maxUpdateAttempts ?? 100;
  const queueTimeoutMs = options.queueTimeoutMs ?? 10_000;
  // Values as bytes: binary protobuf is not UTF-8.
  const bytes = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });

  const hashTag = options.hashTag ?? false;
  const closedTtlSeconds = options.closedTtlSeconds ?? defaultClosedCartTtlSeconds;
  const maxOpen = options.maxOpenCartsPerTerminal ?? defaultMaxOpenCartsPerTerminal;
  const redisKey = (key: CartKey): string => cartRedisKey(key, keyPrefix, hashTag);
  const outboxKey = (key: CartKey): string => outboxRedisKey(key, keyPrefix, hashTag);
  const openKey = (cart: Cart): string => openCartsRedisKey(cart, keyPrefix, hashTag);
  // One index for the whole outbox, in a slot of its own on a cluster: it is written before the
  // closing compare-and-set (so every entry that exists is indexed) and cleaned after the record.
  const outboxIndex = `${keyPrefix}outbox`;

  /** The last value seen per Redis key: bytes, their SHA-1, and the frozen cart they hold. */
  const known = new LRUCache<string, Known>({ max: options.knownCarts ?? 10_000 });

  function remember(k: string, raw: Buffer, cart: Cart): Known {
    const entry = { raw, sha: sha1(raw), cart: freezeCart(cart) };
    known.set(k, entry);
    return entry;
  }

  /** The cart `raw` holds: the remembered one when the bytes are the same, else parsed (and remembered). */
  function decode(k: string, raw: Buffer): Known {
    const hit = known.get(k);
    if (hit?.raw.equals(raw)) return hit;
    return remember(k, raw, parseCart(raw, k));
  }

  /** Runs one command under the time bound, with driver errors mapped. */
  async function command<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(run(), timeoutMs, () => noAnswer(what, timeoutMs));
    } catch (e) {
      throw toStoreError(e, what);
    }
  }

  /** Tail of the queue of updates in flight, per key; the entry goes when the queue empties. */
  const queues = new Map<string, Promise<void>>();

  async function oneAtATime<T>(redisKey: string, run: () => Promise<T>): Promise<T> {
    const previous = queues.get(redisKey);
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = previous === undefined ? mine : previous.then(() => mine);
    queues.set(redisKey, tail);
    try {
      if (previous !== undefined) {
        await withTimeout(
          previous,
          queueTimeoutMs,
          () =>
            new StoreTimeoutError(`Redis timed out: update queued behind others of the cart for ${queueTimeoutMs} ms`, {
              dependency,
            }),
        );
      }
      return await run();
    } finally {
      done();
      if (queues.get(redisKey) === tail) queues.delete(redisKey);
    }
  }

  /** Runs a script by its SHA-1, sending the body when the server does not know it yet. */
  function runScript(
    what: string,
    script: string,
    sha: string,
    evalOptions: { keys: string[]; arguments: (string | Buffer)[] },
  ): Promise<unknown> {
    return command(what, async () => {
      try {
        return await bytes.evalSha(sha, evalOptions);
      } catch (e) {
        // A restarted or flushed Redis forgets scripts: send the body once, which caches it again.
        if (e instanceof ErrorReply && e.message.startsWith("NOSCRIPT")) return bytes.eval(script, evalOptions);
        throw e;
      }
    });
  }

  /** `outbox`: the closing write, which files the closed cart in the outbox too (same slot). */
  async function compareAndSet(
    key: string,
    readSha: string,
    next: Uint8Array,
    outbox: string | undefined,
  ): Promise<{ written: true } | { written: false; current: Buffer | null }> {
    const evalOptions = {
      keys: outbox === undefined ? [key] : [key, outbox],
      arguments: [
        readSha,
        Buffer.from(next.buffer, next.byteOffset, next.byteLength),
        String(outbox === undefined ? ttlSeconds : closedTtlSeconds),
      ],
    };
    const reply = await runScript(outbox === undefined ? "update" : "close", casScript, casSha, evalOptions);
    if (reply === 1) return { written: true };
    if (reply === null || Buffer.isBuffer(reply)) return { written: false, current: reply };
    throw new Error(`unexpected reply from the cart compare-and-set script: ${String(reply)}`);
  }

  async function read(k: string): Promise<Known | undefined> {
    const raw = await command("get", () => bytes.get(k));
    if (raw === null) {
      known.delete(k);
      return undefined;
    }
    return decode(k, raw);
  }

  /**
   * Counts the cart among its terminal's open ones, or TooManyOpenCartsError at the cap. The count
   * is a sorted set of its own (on a cluster in the terminal's slot, not the cart's), kept beside
   * the carts rather than with them: at the cap its members are checked against the carts, so one
   * left behind by a failed write (a cart gone or closed) frees its place then.
   */
  async function claimOpenSlot(cart: Cart, open: string, member: string): Promise<void> {
    const claim = async (): Promise<boolean> => {
      const t = Date.now();
      const reply = await runScript("create", openScript, openSha, {
        keys: [open],
        arguments: [String(t), String(t - ttlSeconds * 1000), String(maxOpen), member, String(ttlSeconds)],
      });
      return reply === 1;
    };
    if (await claim()) return;
    const members = await command("create", () => client.zRange(open, 0, -1));
    let freed = 0;
    for (const id of members) {
      const held = await read(
        redisKey({ tenantId: cart.tenantId, storeCode: cart.storeCode, cartId: decodeURIComponent(id) }),
      );
      if (held === undefined || isClosed(held.cart)) {
        await command("create", () => client.zRem(open, id));
        freed++;
      }
    }
    if (freed === 0 || !(await claim())) throw new TooManyOpenCartsError(cart, maxOpen);
  }

  /** update() and closeCart(): compare-and-set, retried on a newer value; `outbox` files the closed cart too. */
  function write(
    key: CartKey,
    change: (current: Cart) => Cart | undefined,
    outbox: string | undefined,
  ): Promise<Cart | undefined> {
    const k = redisKey(key);
    return oneAtATime(k, async () => {
      // A remembered value is a guess compare-and-set checks; without one, ask.
      const guess = known.get(k);
      let confirmed = guess === undefined;
      let current = guess ?? (await read(k));
      for (let attempt = 1; current !== undefined; attempt++) {
        const changed = change(current.cart);
        if (changed === undefined) {
          // "No write" must answer the cart as stored: confirm a remembered guess first.
          if (confirmed) return current.cart;
          current = await read(k);
          confirmed = true;
          continue;
        }
        assertSameKey(key, changed);
        // Frozen first, so the lines it shares with `current` are encoded from their cached bytes.
        const next = toBinaryReusing(CartSchema, freezeCart(changed));
        const result = await compareAndSet(k, current.sha, next, outbox);
        if (result.written)
          return remember(k, Buffer.from(next.buffer, next.byteOffset, next.byteLength), changed).cart;
        if (result.current === null) {
          known.delete(k);
          return undefined;
        }
        current = decode(k, result.current);
        confirmed = true;
        if (attempt >= maxAttempts) throw new CartConflictError(key, attempt);
        // Full jitter: losers of one race must not all come back for the next one at the same moment.
        await sleep(Math.random() * Math.min(2 ** attempt, 50));
      }
      return undefined;
    });
  }

  return {
    async create(cart) {
      const key = cartKeyOf(cart);
      const k = redisKey(key);
      const raw = Buffer.from(toBinary(CartSchema, cart));
      const open = openKey(cart);
      const member = encodeURIComponent(key.cartId);
      await claimOpenSlot(cart, open, member);
      let reply: string | null;
      try {
        reply = await command("create", () =>
          client.set(k, raw, { condition: "NX", expiration: { type: "EX", value: ttlSeconds } }),
        );
      } catch (e) {
        await command("create", () => client.zRem(open, member)).catch(() => undefined);
        throw e;
      }
      if (reply === null) throw new CartExistsError(key);
      // The caller keeps its object; ours is a frozen copy.
      remember(k, raw, clone(CartSchema, cart));
    },

    async get(key) {
      return (await read(redisKey(key)))?.cart;
    },

    update: (key, change) => write(key, change, undefined),

    async closeCart(key, change) {
      const outbox = outboxKey(key);
      // Indexed first: an entry the compare-and-set files is then always found by the drain.
      await command("close", () => client.zAdd(outboxIndex, { score: Date.now(), value: outbox }, { condition: "NX" }));
      const closed = await write(key, change, outbox);
      // No longer open; should this fail, the next count at the cap finds the cart closed.
      if (closed !== undefined)
        await command("close", () => client.zRem(openKey(closed), encodeURIComponent(key.cartId))).catch(
          () => undefined,
        );
      return closed;
    },

    async pendingRecords({ limit, minAgeMs }) {
      const t = Date.now();
      const due = await command("outbox", () =>
        client.zRangeByScoreWithScores(outboxIndex, "-inf", t - minAgeMs, { LIMIT: { offset: 0, count: limit } }),
      );
      const carts: Cart[] = [];
      for (const { value: entry, score } of due) {
        const raw = await command("outbox", () => bytes.get(entry));
        if (raw !== null) carts.push(parseCart(raw, entry));
        else if (score < t - staleIndexEntryMs) await command("outbox", () => client.zRem(outboxIndex, entry));
      }
      return carts;
    },

    async recorded(key) {
      const outbox = outboxKey(key);
      // The entry before its index: a crash between the two leaves an index entry the drain drops.
      await command("recorded", () => client.del(outbox));
      await command("recorded", () => client.zRem(outboxIndex, outbox));
    },

    // Index entries whose entry is gone (a refused close) count until the drain drops them.
    countPendingRecords: () => command("outbox", () => client.zCard(outboxIndex)),

    async ttlSeconds(key) {
      const k = redisKey(key);
      return command("ttl", () => client.ttl(k));
    },

    // The caller owns the client (see connectRedisCartStore for a store that owns one).
    ping: () => command("ping", async () => void (await client.ping())),

    close: async () => undefined,
  };
}

interface Known {
  raw: Buffer;
  sha: string;
  cart: Cart;
}

/**
 * Where a cart lives: `<prefix>cart:<tenant>:<store>:<cart id>`, and on a Redis Cluster
 * `<prefix>cart:{<tenant>:<store>:<cart id>}`: the braces are a hash tag, only what is inside picks the
 * slot, so every key of one cart (and the compare-and-set on them) stays on one node while carts spread
 * over the cluster. A single Redis keeps the untagged name, so carts open during an upgrade are still found.
 */
export function cartRedisKey(key: CartKey, keyPrefix = "", hashTag = false): string {
  // Encoded so that a ':' inside a code cannot make two keys collide, and no '{' or '}' can move the tag.
  const id = [key.tenantId, key.storeCode, key.cartId].map(encodeURIComponent).join(":");
  return hashTag ? `${keyPrefix}cart:{${id}}` : `${keyPrefix}cart:${id}`;
}

/** A closed cart's pending record: `<prefix>outbox:<id>`, tagged as its cart on a cluster (one slot, one script). */
export function outboxRedisKey(key: CartKey, keyPrefix = "", hashTag = false): string {
  return cartRedisKey(key, keyPrefix, hashTag).replace(`${keyPrefix}cart:`, `${keyPrefix}outbox:`);
}

/** One terminal's open carts: `<prefix>open:<tenant>:<store>:<terminal>`, tagged by terminal on a cluster. */
export function openCartsRedisKey(
  cart: Pick<Cart, "tenantId" | "storeCode" | "terminalId">,
  keyPrefix = "",
  hashTag = false,
): string {
  const id = [cart.tenantId, cart.storeCode, cart.terminalId].map(encodeURIComponent).join(":");
  return hashTag ? `${keyPrefix}open:{${id}}` : `${keyPrefix}open:${id}`;
}

function parseCart(raw: Buffer, redisKey: string): Cart {
  try {
    // Carts written before the binary format are protobuf JSON; binary never starts with "{".
    return raw[0] === 0x7b ? fromJsonString(CartSchema, raw.toString("utf8")) : fromBinary(CartSchema, raw);
  } catch (e) {
    throw new Error(
      `the value at Redis key "${redisKey}" is not a cart: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * node-redis's own per-command `timeout` stops counting once the command is
 * written to the socket, so a server that stops answering would hang the
 * caller: race the whole round trip against a timer instead. A command that
 * times out may still run on the server later; the caller sees
 * deadline-exceeded, which promises nothing about the outcome.
 */
async function withTimeout<T>(pending: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  // The loser of the race may still reject later; nobody awaits it any more.
  pending.catch(() => undefined);
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The one place node-redis errors become store errors. Error replies that are
 * not about availability (a bug, a foreign key of another type) become a plain
 * Error naming the operation, to surface as an internal error.
 */
// What clients are told when Redis fails ("cart store unavailable"); the reason is for the log.
const dependency = "cart store";

export function toStoreError(e: unknown, what: string): unknown {
  if (e instanceof StoreUnavailableError || e instanceof StoreTimeoutError) return e;
  if (e instanceof RedisTimeoutError || e instanceof SocketTimeoutError) {
    return new StoreTimeoutError(`Redis timed out: ${what}`, { cause: e, dependency });
  }
  if (e instanceof ErrorReply) {
    if (unavailableReplies.test(e.message)) {
      return new StoreUnavailableError(`Redis unavailable: ${shortReason(e.message)}`, { cause: e, dependency });
    }
    return new Error(`Redis rejected ${what}: ${shortReason(e.message)}`, { cause: e });
  }
  const reason = unavailableReason(e);
  return reason === undefined ? e : new StoreUnavailableError(`Redis unavailable: ${reason}`, { cause: e, dependency });
}

function unavailableReason(e: unknown): string | undefined {
  if (e instanceof ReconnectStrategyError) return unavailableReason(e.socketError) ?? "cannot connect";
  if (e instanceof ConnectionTimeoutError) return "connection timed out";
  if (e instanceof ClientOfflineError) return "disconnected (reconnecting)";
  if (e instanceof ClientClosedError) return "client closed";
  if (e instanceof SocketClosedUnexpectedlyError) return "connection lost";
  if (e instanceof Error && "code" in e && typeof e.code === "string") {
    const known: Record<string, string> = {
      ECONNREFUSED: "connection refused",
      ECONNRESET: "connection reset",
      EPIPE: "connection reset",
      ETIMEDOUT: "connection timed out",
      EHOSTUNREACH: "host unreachable",
      ENETUNREACH: "network unreachable",
      ENOTFOUND: "host not found",
      EAI_AGAIN: "host not found (DNS)",
    };
    return known[e.code] ?? (e.code.startsWith("E") ? shortReason(e.message) : undefined);
  }
  return undefined;
}

function noAnswer(what: string, timeoutMs: number): StoreTimeoutError {
  return new StoreTimeoutError(`Redis timed out: no answer to ${what} within ${timeoutMs} ms`, { dependency });
}

/** destroy() throws when the client already closed itself (a failed first connect does). */
function destroyQuietly(client: RedisCartClient): void {
  try {
    client.destroy();
  } catch {
    // Already closed: nothing left to release.
  }
}

function sha1(data: string | Buffer): string {
  return createHash("sha1").update(data).digest("hex");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
