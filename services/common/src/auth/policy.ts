import type { DescMessage, DescMethod, DescService, MessageShape } from "@bufbuild/protobuf";
import { ServerReflection as ReflectionV1 } from "@pos/gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "@pos/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "@pos/gen/health/v1/health_pb.js";
import { ItemService as LegacyItemService } from "@pos/gen/legacy/item_service/item_service_pb.js";
import { CartService } from "@pos/gen/pos/cart/v1/cart_service_pb.js";
import type { Money } from "@pos/gen/pos/common/v1/money_pb.js";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { Role } from "./principal.js";

/** What a request names; each non-empty part must be covered by the credential (empty ones fail validation later). */
export interface Scope {
  tenant?: string;
  store?: string;
  terminal?: string;
}

export interface ProtectedMethod {
  open?: false;
  /** Roles that may call (staff and admin include terminal's methods, admin staff's: principal.ts). */
  roles: readonly Role[];
  /** Reads the tenant, store and terminal out of the request message. */
  scope(message: unknown): Scope;
  /** The request names a cart by id: the cart's own terminal is checked where it is read (cart-service.ts). */
  cartOwned?: boolean;
  /** Audited: what to log about the call besides who and when (never a secret). */
  audit?(message: unknown): Record<string, string>;
}

/** Health and reflection: open to anyone who can reach the port (README: reflection says why). */
export interface OpenMethod {
  open: true;
}

export type MethodPolicy = ProtectedMethod | OpenMethod;

/** Per method descriptor of the schema; a method that is not in it is refused (closed by default). */
export type PolicyTable = ReadonlyMap<DescMethod, MethodPolicy>;

type MethodOf<I extends DescMessage> = DescMethod & { input: I };

function guard<I extends DescMessage>(
  method: MethodOf<I>,
  rule: {
    roles: readonly Role[];
    scope: (m: MessageShape<I>) => Scope;
    cartOwned?: boolean;
    audit?: (m: MessageShape<I>) => Record<string, string>;
  },
): [DescMethod, MethodPolicy] {
  const { scope, audit } = rule;
  return [
    method,
    {
      roles: rule.roles,
      scope: (m) => scope(m as MessageShape<I>),
      ...(rule.cartOwned === true && { cartOwned: true }),
      ...(audit !== undefined && { audit: (m: unknown) => audit(m as MessageShape<I>) }),
    },
  ];
}

/** Every method of these services open (for health, reflection, and test-only services). */
export function openServices(...services: DescService[]): [DescMethod, MethodPolicy][] {
  return services.flatMap((s) => s.methods.map((m): [DescMethod, MethodPolicy] => [m, { open: true }]));
}

const money = (m: Money | undefined) => (m === undefined ? "" : `${m.amount} ${m.currencyCode}`);
const cartScope = (m: { cart?: { tenantId: string; storeCode: string } | undefined }): Scope => ({
  tenant: m.cart?.tenantId ?? "",
  store: m.cart?.storeCode ?? "",
});
const cartId = (m: { cart?: { cartId: string } | undefined }) => ({ cart: m.cart?.cartId ?? "" });
const itemReaders: readonly Role[] = ["terminal", "service"];
const md = ItemService.method;
const cart = CartService.method;

/**
 * THE access policy of every RPC both services serve. Terminals: item reads and their own store's
 * (and terminal's) carts; staff: plus discounts and cancelling a sale in their stores; admin:
 * catalogue writes; service (cart → master-data): item and tax reads for the tenant it names.
 */
export const policyTable: PolicyTable = new Map<DescMethod, MethodPolicy>([
  ...openServices(Health, ReflectionV1, ReflectionV1alpha),
  guard(md.getItemDetail, {
    roles: itemReaders,
    scope: (m) => ({ tenant: m.tenantId, store: m.storeCode, terminal: m.terminalId }),
  }),
  guard(md.batchGetItemDetails, {
    roles: itemReaders,
    scope: (m) => ({ tenant: m.tenantId, store: m.storeCode, terminal: m.terminalId }),
  }),
  guard(md.listItems, { roles: itemReaders, scope: (m) => ({ tenant: m.tenantId, store: m.storeCode }) }),
  guard(md.listTaxes, { roles: itemReaders, scope: (m) => ({ tenant: m.tenantId }) }),
  guard(md.upsertItem, {
    roles: ["admin"],
    scope: (m) => ({ tenant: m.tenantId }),
    audit: (m) => ({ item: m.itemCode, unitPrice: money(m.unitPrice) }),
  }),
  guard(md.deleteItem, {
    roles: ["admin"],
    scope: (m) => ({ tenant: m.tenantId }),
    audit: (m) => ({ item: m.itemCode }),
  }),
  guard(md.upsertStorePrice, {
    roles: ["admin"],
    scope: (m) => ({ tenant: m.tenantId, store: m.storeCode }),
    audit: (m) => ({ store: m.storeCode, item: m.itemCode, price: money(m.price) }),
  }),
  // The original contract's terminal_id is "accepted and ignored", as the original did.
  guard(LegacyItemService.method.getItemDetail, {
    roles: itemReaders,
    scope: (m) => ({ tenant: m.tenantId, store: m.storeCode }),
  }),
  guard(cart.createCart, {
    roles: ["terminal"],
    scope: (m) => ({ tenant: m.tenantId, store: m.storeCode, terminal: m.terminalId }),
  }),
  guard(cart.getCart, { roles: ["terminal"], scope: cartScope, cartOwned: true }),
  guard(cart.addLineItems, { roles: ["terminal"], scope: cartScope, cartOwned: true }),
  guard(cart.updateLineItemQuantity, { roles: ["terminal"], scope: cartScope, cartOwned: true }),
  guard(cart.cancelLineItem, { roles: ["terminal"], scope: cartScope, cartOwned: true }),
  guard(cart.addLineItemDiscount, { roles: ["staff"], scope: cartScope, cartOwned: true }),
  guard(cart.subtotal, { roles: ["terminal"], scope: cartScope, cartOwned: true }),
  guard(cart.addPayments, { roles: ["terminal"], scope: cartScope, cartOwned: true }),
  guard(cart.bill, { roles: ["terminal"], scope: cartScope, cartOwned: true, audit: cartId }),
  guard(cart.cancelCart, { roles: ["staff"], scope: cartScope, cartOwned: true, audit: cartId }),
]);
