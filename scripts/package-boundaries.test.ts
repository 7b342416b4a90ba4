import { describe, expect, it } from "vitest";
import { boundaryViolations, type WorkspacePackage } from "./package-boundaries.js";

const packages: WorkspacePackage[] = [
  { name: "@pos/gen", dir: "gen", exports: ["./*"], dependencies: [] },
  { name: "@pos/common", dir: "services/common", exports: [".", "./testing"], dependencies: [] },
  {
    name: "@pos/master-data",
    dir: "services/master-data",
    exports: [".", "./testing"],
    dependencies: ["@pos/common", "@pos/gen"],
  },
  { name: "@pos/cart", dir: "services/cart", exports: ["."], dependencies: ["@pos/common", "@pos/gen"] },
];

// Spelled in two parts so that this file does not trip the check it tests.
const md = ["@pos", "master-data"].join("/");

function check(path: string, text: string): string[] {
  return boundaryViolations([{ path, text }], packages);
}

describe("package boundaries", () => {
  it("lets a package use another's exports and its own files", () => {
    const text = [
      'import { createConnectApp } from "@pos/common";',
      'import { spawnService } from "@pos/common/testing";',
      'import { ItemSchema } from "@pos/gen/pos/masterdata/v1/item_pb.js";',
      'import { createItemService } from "../src/item-service.js";',
      'const main = new URL("../src/main.ts", import.meta.url);',
    ].join("\n");
    expect(check("services/master-data/test/x.test.ts", text)).toEqual([]);
  });

  it("names every import of another package's src/ or test/, however written", () => {
    const text = [
      `import { demo } from "${md}/src/demo-catalogue.js";`,
      `import { startMasterData } from "${md}/test/harness.js";`,
      'export { x } from "../../master-data/src/app.js";',
      'const m = await import("../../common/src/mongo.js");',
      'const main = new URL("../../master-data/src/main.ts", import.meta.url);',
    ].join("\n");
    const problems = check("services/cart/test/x.test.ts", text);
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/"@pos\/master-data\/src\/demo-catalogue\.js" is not in @pos\/master-data's exports/);
    expect(problems[2]).toMatch(/reaches into @pos\/master-data's files/);
    expect(problems[3]).toMatch(/reaches into @pos\/common's files/);
  });

  it("names an import of a package the importer does not depend on", () => {
    expect(check("services/cart/src/x.ts", 'import { demo } from "@pos/master-data";')).toEqual([
      'services/cart/src/x.ts: "@pos/master-data": @pos/cart does not declare @pos/master-data in its package.json',
    ]);
  });
});
