import { create, type DescMethod, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { schemaServices } from "@pos/common/testing";
import { type RunningMasterData, startMasterData, transportMatrix } from "@pos/master-data/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masterDataTransports, type RunningCart, startCart } from "./cart-harness.js";

// Closed by default, proven on the real servers: every unary method of every service in the schema
// (found in gen/, so a new one is covered by itself), called without a credential over every
// transport, is refused as unauthenticated, unless it is health, which stays open; a method a server
// does not serve is unimplemented there. Streaming methods are health's Watch and reflection: open,
// and pinned by the policy table's own test.
const services = await schemaServices();
const open = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);
const unary = services.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary"));
const servedBy = {
  "master-data": new Set(["pos.masterdata.v1.ItemService", "item_service.ItemService", ...open]),
  cart: new Set(["pos.cart.v1.CartService", ...open]),
};

async function codeOf(transport: ReturnType<typeof transportMatrix>[number]["transport"], method: DescMethod) {
  if (method.methodKind !== "unary") throw new Error("unary only");
  // The tenant is named so that only the credential decides; fields left empty are never reached.
  const input = create(method.input, { tenantId: "T0001", storeCode: "S0001" } as never);
  return transport.unary(method as DescMethodUnary, undefined, 5000, undefined, input, createContextValues()).then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e),
  );
}

describe("every RPC of the schema is refused without a credential", () => {
  let md: RunningMasterData;
  let cart: RunningCart;
  beforeAll(async () => {
    md = await startMasterData();
    cart = await startCart(masterDataTransports[0]!.config(md.baseUrl), { redisUrl: undefined, mongodbUri: undefined });
  });
  afterAll(async () => {
    await cart?.close();
    await md?.close();
  });

  for (const server of ["master-data", "cart"] as const) {
    describe(server, () => {
      it.each(unary.map((m) => [`${m.parent.typeName}/${m.name}`, m] as const))("%s", async (_name, method) => {
        const baseUrl = server === "master-data" ? md.baseUrl : cart.baseUrl;
        for (const { name, transport } of transportMatrix(baseUrl, { interceptors: [] })) {
          const result = await codeOf(transport, method);
          const code = result instanceof ConnectError ? result.code : undefined;
          if (!servedBy[server].has(method.parent.typeName)) {
            expect(code, `${name}: not served here`).toBe(Code.Unimplemented);
          } else if (open.has(method.parent.typeName)) {
            expect(code, `${name}: open`).not.toBe(Code.Unauthenticated);
          } else {
            expect(code, `${name}: protected`).toBe(Code.Unauthenticated);
            expect((result as ConnectError).rawMessage).toBe(
              "this call needs a credential: a terminal API key (x-api-key) or a bearer token (authorization: Bearer …)",
            );
          }
        }
      });
    });
  }
});
