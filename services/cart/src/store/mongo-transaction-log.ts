import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { connectMongo, guarded as guardedAs, isDuplicateKey } from "@pos/common";

// Every operation's failure names this store to clients ("transaction log unavailable"), never the driver's text.
const guarded = <T>(operation: () => Promise<T>): Promise<T> => guardedAs(operation, "transaction log");

import { type Cart, CartSchema, CartStatusSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import { type Db, Long } from "mongodb";
import { type TransactionLog, TransactionNumberConflictError, type TransactionRecord } from "./transaction-log.js";

export const defaultDbName = "pos_cart";
export const collectionName = "transaction_logs";
export const uniqueIndexName = "tenant_id_store_code_cart_id_unique";
export const numbersCollectionName = "transaction_numbers";
export const numberIndexName = "tenant_id_store_code_terminal_id_number_unique";

export interface ConnectMongoTransactionLogOptions {
  /** Bound for connecting and for every operation (CSOT `timeoutMS`). */
  timeoutMs: number;
  /** Default: the URI's path, else "pos_cart". */
  dbName?: string;
}

export interface MongoTransactionLogOptions {
  /** Tries of one assignNumber() before TransactionNumberConflictError. Default 100. */
  maxNumberAttempts?: number;
}

/** One per transaction number ever given: which cart of which terminal has it. */
interface NumberDoc {
  tenant_id: string;
  store_code: string;
  terminal_id: string;
  number: number;
  cart_id: string;
  assigned_at: Date;
}

/**
 * One record per cart. The columns are for people and reports (int64 amounts
 * in minor units, as Long); `cart` is the whole cart as protobuf JSON, which is
 * what find() reads back, so nothing is lost to the columns' shape.
 */
interface TransactionDoc {
  tenant_id: string;
  store_code: string;
  cart_id: string;
  terminal_id: string;
  staff_id: string;
  transaction_no: string;
  kind: TransactionRecord["kind"];
  /** The cart status's proto name, e.g. "CART_STATUS_COMPLETED". */
  status: string;
  currency_code: string;
  total_amount: Long;
  total_amount_with_tax: Long;
  tax_amount: Long;
  paid_amount: Long;
  change_amount: Long;
  created_at: Date;
  cart: JsonObject;
}

/**
 * Connects to MongoDB and returns a log that owns the client: close() closes
 * it. Every operation, connecting included, is bounded by `timeoutMs`.
 */
export function connectMongoTransactionLog(
  uri: string,
  options: ConnectMongoTransactionLogOptions,
): Promise<TransactionLog> {
  return connectMongo(uri, { ...options, appName: "pos-cart", defaultDbName }, createMongoTransactionLog);
}

/**
 * A sale is money: a write is acknowledged only once a majority of a replica set has it, journaled, so that
 * a primary's failover cannot roll a billed cart back (on a single server this is the same as w: 1).
 */
export const durableWrites = { writeConcern: { w: "majority" as const, journal: true } };

/**
 * A log on a Db whose client the caller owns (tests, bench): close() leaves
 * the client open. Creates the unique index first; doing so again is harmless.
 */
export async function createMongoTransactionLog(
  db: Db,
  options: MongoTransactionLogOptions = {},
): Promise<TransactionLog> {
  const maxNumberAttempts = options.maxNumberAttempts ?? 100;
  const logs = db.collection<TransactionDoc>(collectionName, durableWrites);
  const numbers = db.collection<NumberDoc>(numbersCollectionName, durableWrites);
  // The unique indexes are what make record() write once and a number go to one cart, even under races.
  const perCart = { key: { tenant_id: 1, store_code: 1, cart_id: 1 }, name: uniqueIndexName, unique: true };
  await guarded(async () => {
    await logs.createIndexes([perCart]);
    // One index per command: FerretDB 1.24 panics when one createIndexes names several that exist already.
    await numbers.createIndexes([perCart]);
    await numbers.createIndexes([
      { key: { tenant_id: 1, store_code: 1, terminal_id: 1, number: 1 }, name: numberIndexName, unique: true },
    ]);
  });

  return {
    /**
     * Inserts "terminal's last number + 1" and lets the unique indexes settle
     * races: the loser of a number reads again and takes the next one, the loser
     * of a cart takes the winner's. Not a $inc counter: FerretDB applies $inc
     * and findAndModify as read-modify-write, so concurrent callers lose
     * increments and share numbers; an insert against a unique index is atomic
     * on MongoDB and on FerretDB alike.
     */
    assignNumber: (cart) =>
      guarded(async () => {
        const scope = { tenant_id: cart.tenantId, store_code: cart.storeCode };
        for (let attempt = 1; ; attempt++) {
          const given = await numbers.findOne({ ...scope, cart_id: cart.cartId }, { projection: { number: 1 } });
          if (given !== null) return given.number;
          const last = await numbers.findOne(
            { ...scope, terminal_id: cart.terminalId },
            { sort: { number: -1 }, projection: { number: 1 } },
          );
          const next = (last?.number ?? 0) + 1;
          try {
            await numbers.insertOne({
              ...scope,
              terminal_id: cart.terminalId,
              number: next,
              cart_id: cart.cartId,
              assigned_at: new Date(),
            });
            return next;
          } catch (e) {
            if (!isDuplicateKey(e)) throw e;
            if (attempt >= maxNumberAttempts) throw new TransactionNumberConflictError(cart, attempt);
          }
        }
      }),

    record: (rec) =>
      guarded(async () => {
        try {
          await logs.insertOne(toDoc(rec));
          return { written: true };
        } catch (e) {
          if (isDuplicateKey(e)) return { written: false };
          throw e;
        }
      }),

    find: (key) =>
      guarded(async () => {
        const doc = await logs.findOne(
          { tenant_id: key.tenantId, store_code: key.storeCode, cart_id: key.cartId },
          { projection: { _id: 0, kind: 1, cart: 1 } },
        );
        return doc === null ? undefined : { kind: doc.kind, cart: fromJson(CartSchema, doc.cart) };
      }),

    count: (tenantId, storeCode) => guarded(() => logs.countDocuments({ tenant_id: tenantId, store_code: storeCode })),

    // The caller owns the client (see connectMongoTransactionLog for a log that owns one).
    ping: () => guarded(async () => void (await db.command({ ping: 1 }))),

    close: async () => undefined,
  };
}

function toDoc(rec: TransactionRecord): TransactionDoc {
  const { cart } = rec;
  return {
    tenant_id: cart.tenantId,
    store_code: cart.storeCode,
    cart_id: cart.cartId,
    terminal_id: cart.terminalId,
    staff_id: cart.staffId,
    transaction_no: cart.transactionNo,
    kind: rec.kind,
    status: CartStatusSchema.values.find((v) => v.number === cart.status)?.name ?? String(cart.status),
    currency_code: currencyOf(cart),
    total_amount: amount(cart.totalAmount),
    total_amount_with_tax: amount(cart.totalAmountWithTax),
    tax_amount: amount(cart.taxAmount),
    paid_amount: amount(cart.paidAmount),
    change_amount: amount(cart.changeAmount),
    created_at: new Date(),
    // A message's JSON form is always an object.
    cart: toJson(CartSchema, cart) as JsonObject,
  };
}

function amount(money: Money | undefined): Long {
  return Long.fromBigInt(money?.amount ?? 0n);
}

/** A cart has one currency; a cancelled empty cart may have no totals at all. */
function currencyOf(cart: Cart): string {
  for (const m of [cart.totalAmount, cart.totalAmountWithTax, cart.paidAmount]) {
    if (m !== undefined && m.currencyCode !== "") return m.currencyCode;
  }
  return "";
}
