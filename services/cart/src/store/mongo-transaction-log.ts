import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { connectMongo, guarded, isDuplicateKey } from "@pos/common";
import { type Cart, CartSchema, CartStatusSchema } from "@pos/gen/pos/cart/v1/cart_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import { type Db, Long } from "mongodb";
import type { TransactionLog, TransactionRecord } from "./transaction-log.js";

export const defaultDbName = "pos_cart";
export const collectionName = "transaction_logs";
export const uniqueIndexName = "tenant_id_store_code_cart_id_unique";

export interface ConnectMongoTransactionLogOptions {
  /** Bound for connecting and for every operation (CSOT `timeoutMS`). */
  timeoutMs: number;
  /** Default: the URI's path, else "pos_cart". */
  dbName?: string;
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
 * A log on a Db whose client the caller owns (tests, bench): close() leaves
 * the client open. Creates the unique index first; doing so again is harmless.
 */
export async function createMongoTransactionLog(db: Db): Promise<TransactionLog> {
  const logs = db.collection<TransactionDoc>(collectionName);
  // The unique index is what makes record() write once, even when retried Bills race each other.
  await guarded(() =>
    logs.createIndexes([{ key: { tenant_id: 1, store_code: 1, cart_id: 1 }, name: uniqueIndexName, unique: true }]),
  );

  return {
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
