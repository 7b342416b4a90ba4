import { createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import { createErrorMappingInterceptor } from "@pos/common";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { createItemService } from "../item-service.js";
import { seedDemoCatalogue } from "../open-store.js";
import type { ItemStore } from "../store/item-store.js";
import { createMemoryItemStore } from "../store/memory-item-store.js";

export interface InMemoryMasterData {
  store: ItemStore;
  /** ItemService in this process, no socket: what a client or a handler test talks to. */
  transport: Transport;
}

/**
 * master-data's handlers behind `createRouterTransport`, with the same error mapping as the server,
 * over the demo catalogue in an in-memory store (unless a store is given). `clientInterceptors` run
 * on the calling side, as a client's own transport would run them (the Connect protocol, in memory).
 */
export async function createInMemoryMasterData(
  options: { store?: ItemStore; clientInterceptors?: Interceptor[] } = {},
): Promise<InMemoryMasterData> {
  const store = options.store ?? createMemoryItemStore();
  if (options.store === undefined) await seedDemoCatalogue(store);
  const transport = createRouterTransport((router) => router.service(ItemService, createItemService(store)), {
    router: { interceptors: [createErrorMappingInterceptor()] },
    transport: { interceptors: options.clientInterceptors ?? [] },
  });
  return { store, transport };
}

export interface FaultyItemStore {
  store: ItemStore;
  /** From now on every call (but close) throws `error`; undefined heals the store. */
  failWith(error: Error | undefined): void;
}

/** Delegates to `inner` until told to fail: storage outages and bugs, on demand. */
export function createFaultyItemStore(inner: ItemStore): FaultyItemStore {
  let failure: Error | undefined;
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (failure !== undefined) throw failure;
      return call(...args);
    };
  const store: ItemStore = {
    getItems: guard((...a) => inner.getItems(...a)),
    listItems: guard((...a) => inner.listItems(...a)),
    hasTenant: guard((...a) => inner.hasTenant(...a)),
    upsertItem: guard((...a) => inner.upsertItem(...a)),
    deleteItem: guard((...a) => inner.deleteItem(...a)),
    upsertStorePrice: guard((...a) => inner.upsertStorePrice(...a)),
    importRecords: guard((...a) => inner.importRecords(...a)),
    countItems: guard((...a) => inner.countItems(...a)),
    ping: guard((...a) => inner.ping(...a)),
    close: () => inner.close(),
  };
  return {
    store,
    failWith: (error) => {
      failure = error;
    },
  };
}
