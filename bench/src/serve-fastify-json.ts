import { toJson } from "@bufbuild/protobuf";
import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";
import Fastify from "fastify";
import { announce, lookUp, openPeerStore, peerPort } from "./peer-store.js";
import { batchGetPath, getItemPath } from "./requests.js";

// Peer: the original system's path: a plain Fastify JSON route over HTTP/1.1, same repository
// and data. It sits on the Connect path and answers the same JSON (protobuf's JSON mapping, as
// Connect does), so the very same clients and bodies load both and only the stack differs.
interface GetBody {
  tenantId?: string;
  storeCode?: string;
  itemCode?: string;
}
interface BatchBody {
  tenantId?: string;
  storeCode?: string;
  itemCodes?: string[];
}

const store = await openPeerStore();
const app = Fastify({ logger: false });

app.post<{ Body: GetBody }>(getItemPath, async (req, reply) => {
  const { tenantId = "", storeCode = "", itemCode = "" } = req.body ?? {};
  const [item] = itemCode === "" ? [] : await store.getItems(tenantId, storeCode, [itemCode]);
  if (item === undefined) return reply.code(404).send({ code: "not_found", message: `item "${itemCode}" not found` });
  return { item: toJson(ItemSchema, item) };
});

app.post<{ Body: BatchBody }>(batchGetPath, async (req) => {
  const { tenantId = "", storeCode = "", itemCodes = [] } = req.body ?? {};
  const { items, notFound } = await lookUp(store, tenantId, storeCode, itemCodes);
  return { items: items.map((i) => toJson(ItemSchema, i)), notFoundItemCodes: notFound };
});

await app.listen({ host: "127.0.0.1", port: peerPort(process.env) });
const address = app.server.address();
announce("fastify-json", typeof address === "object" && address !== null ? address.port : 0);
const stop = () => void app.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
