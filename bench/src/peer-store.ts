import type { Item } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import { createMemoryItemStore, type ItemStore, seedDemoCatalogue } from "@pos/master-data";

/** The peers' repository: the same in-memory store and demo catalogue master-data serves. */
export async function openPeerStore(): Promise<ItemStore> {
  const store = createMemoryItemStore();
  await seedDemoCatalogue(store);
  return store;
}

/** Items of the given codes in request order, and the codes the store does not know. */
export async function lookUp(
  store: ItemStore,
  tenantId: string,
  storeCode: string,
  codes: string[],
): Promise<{ items: Item[]; notFound: string[] }> {
  const unique = [...new Set(codes)];
  const found = await store.getItems(tenantId, storeCode, unique);
  const byCode = new Map(found.map((item) => [item.itemCode, item]));
  return {
    items: unique.flatMap((c) => byCode.get(c) ?? []),
    notFound: unique.filter((c) => !byCode.has(c)),
  };
}

/** The port a peer listens on: PEER_PORT, 0 (any) by default. */
export function peerPort(env: NodeJS.ProcessEnv): number {
  const port = Number(env.PEER_PORT ?? "0");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PEER_PORT must be 0..65535, got "${env.PEER_PORT}"`);
  return port;
}

/** Announces the port the way fastify does, so one parser finds every server's port. */
export function announce(name: string, port: number): void {
  console.log(JSON.stringify({ peer: name, msg: `Server listening at http://127.0.0.1:${port}` }));
}
