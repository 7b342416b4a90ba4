import { create, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, createRouterTransport } from "@connectrpc/connect";
import { ItemService } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { describe, expect, it } from "vitest";
import { schemaServices } from "../testing/schema-services.js";
import { createAuthenticator } from "./authenticator.js";
import { createAuthInterceptor } from "./interceptor.js";
import { type MethodPolicy, policyTable } from "./policy.js";

const openServices = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);
const services = await schemaServices();
const methods = services.flatMap((s) => s.methods);

describe("the policy table covers the whole schema", () => {
  it("finds the schema's services in gen/ (so the walk below walks something)", () => {
    expect(services.map((s) => s.typeName)).toEqual(
      expect.arrayContaining([
        "pos.masterdata.v1.ItemService",
        "pos.cart.v1.CartService",
        "item_service.ItemService",
        ...openServices,
      ]),
    );
    expect(methods.length).toBeGreaterThanOrEqual(23);
  });

  it.each(methods.map((m) => [`${m.parent.typeName}/${m.name}`, m] as const))(
    "%s has an entry: open only for health and reflection, otherwise roles and a scope read from its request",
    (_name, method: DescMethod) => {
      const rule: MethodPolicy | undefined = policyTable.get(method);
      expect(rule).toBeDefined();
      if (openServices.has(method.parent.typeName)) {
        expect(rule?.open).toBe(true);
        return;
      }
      if (rule === undefined || rule.open === true) throw new Error("protected method has no protected rule");
      expect(rule.roles.length).toBeGreaterThan(0);
      // Every protected request names at least its tenant, and the scope reader understands the message.
      const scope = rule.scope(create(method.input, {}));
      expect(Object.keys(scope)).toContain("tenant");
    },
  );

  it("refuses a method with no entry, whatever the caller sends", async () => {
    const table = new Map(policyTable);
    table.delete(ItemService.method.getItemDetail);
    const transport = createRouterTransport(
      (router) =>
        router.service(ItemService, {
          getItemDetail: () => {
            throw new Error("must not run");
          },
        }),
      {
        router: { interceptors: [createAuthInterceptor({ authenticator: createAuthenticator({}), policy: table })] },
      },
    );
    const err = await transport
      .unary(
        ItemService.method.getItemDetail,
        undefined,
        undefined,
        { authorization: "Bearer x.y.z" },
        create(ItemService.method.getItemDetail.input, { tenantId: "T0001" }),
        createContextValues(),
      )
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.PermissionDenied);
    expect(err?.rawMessage).toBe("pos.masterdata.v1.ItemService/GetItemDetail has no access policy and is refused");
  });
});
