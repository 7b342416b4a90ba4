import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { BadRequestSchema } from "@pos/gen/google/rpc/error_details_pb.js";
import { Health } from "@pos/gen/health/v1/health_pb.js";
import { CatalogueFileSchema } from "@pos/gen/pos/masterdata/v1/catalogue_file_pb.js";
import { describe, expect, it } from "vitest";
import { createStringBoundsInterceptor, rejectLongStrings } from "./string-bounds.js";

function violations(run: () => void): [string, string][] {
  try {
    run();
  } catch (e) {
    const err = ConnectError.from(e);
    expect(err.code).toBe(Code.InvalidArgument);
    return err
      .findDetails(BadRequestSchema)
      .flatMap((d) => d.fieldViolations.map((v): [string, string] => [v.field, v.description]));
  }
  return [];
}

describe("string bounds", () => {
  const file = create(CatalogueFileSchema, {
    records: [
      { record: { case: "item", value: { tenantId: "T1", itemCode: "A", imageUrls: ["ok", "y".repeat(11)] } } },
      {
        record: {
          case: "storePrice",
          value: { tenantId: "T1", storeCode: "s".repeat(10), price: { currencyCode: "c".repeat(12) } },
        },
      },
    ],
  });

  it("names every string over the bound by its path: lists, oneofs and nested messages", () => {
    expect(violations(() => rejectLongStrings(CatalogueFileSchema, file, 10))).toEqual([
      ["records[0].item.image_urls[1]", "must be at most 10 characters, got 11"],
      ["records[1].store_price.price.currency_code", "must be at most 10 characters, got 12"],
    ]);
  });

  it("counts characters, not UTF-16 units: 10 emoji fit a bound of 10", () => {
    const emoji = create(CatalogueFileSchema, {
      records: [{ record: { case: "item", value: { description: "😀".repeat(10) } } }],
    });
    expect(violations(() => rejectLongStrings(CatalogueFileSchema, emoji, 10))).toEqual([]);
    expect(violations(() => rejectLongStrings(CatalogueFileSchema, file, 12))).toEqual([]);
  });

  it("checks a streaming method's requests too (health Watch), before the handler sees them", async () => {
    let handled = 0;
    const transport = createRouterTransport(
      (router) =>
        router.service(Health, {
          async *watch() {
            handled++;
            yield { status: 1 };
          },
        }),
      { router: { interceptors: [createStringBoundsInterceptor(16)] } },
    );
    const client = createClient(Health, transport);
    const read = async (service: string) => {
      const out: number[] = [];
      for await (const r of client.watch({ service })) out.push(r.status);
      return out;
    };
    expect(await read("short")).toEqual([1]);
    await expect(read("x".repeat(17))).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "service: must be at most 16 characters, got 17",
    });
    expect(handled).toBe(1);
  });
});
