import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { toJson } from "@bufbuild/protobuf";
import {
  file_pos_masterdata_v1_item_service,
  GetItemDetailRequestSchema,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { ExternalTool } from "./cases.js";
import { benchCredential } from "./credential.js";
import { descriptorSet } from "./descriptor-set.js";
import { cacheDir } from "./paths.js";
import {
  type BodyEncoding,
  encodeGetItemBody,
  getItemPath,
  getItemRequest,
  headersFor,
  randomItemCode,
  seededRandom,
} from "./requests.js";
import { wrkScript } from "./tools.js";

export interface FoundTools {
  paths: Partial<Record<ExternalTool, string>>;
  skipped: { tool: string; reason: string }[];
}

/** Which native load generators are here; the missing ones are named in the report, not dropped silently. */
export function findTools(): FoundTools {
  const paths: Partial<Record<ExternalTool, string>> = {};
  const skipped: { tool: string; reason: string }[] = [];
  const which = (name: string): string | undefined => {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const hints: Record<ExternalTool, string> = {
    wrk: "not installed (bench/run.sh installs the Debian package `wrk` when run as root)",
    h2load: "not installed (bench/run.sh installs the Debian package `nghttp2-client` when run as root)",
    ghz: "not installed (bench/run.sh builds it into ~/go/bin with Go from /usr/local/go/bin)",
  };
  for (const tool of ["wrk", "h2load", "ghz"] as const) {
    const found =
      which(tool) ??
      (tool === "ghz" && existsSync(path.join(os.homedir(), "go/bin/ghz"))
        ? path.join(os.homedir(), "go/bin/ghz")
        : undefined);
    if (found === undefined) skipped.push({ tool, reason: hints[tool] });
    else paths[tool] = found;
  }
  return { paths, skipped };
}

/** Request bodies and scripts for the external tools, generated from the schema into bench/.cache. */
export interface ToolInputs {
  wrkScripts: Partial<Record<BodyEncoding, string>>;
  h2loadBodies: Partial<Record<BodyEncoding, string>>;
  protoset: string;
  ghzData: string;
}

export async function prepareToolInputs(): Promise<ToolInputs> {
  await mkdir(cacheDir, { recursive: true });
  const random = seededRandom(42);
  const requests = Array.from({ length: 1000 }, () => getItemRequest(randomItemCode(random)));
  const inputs: ToolInputs = {
    wrkScripts: {},
    h2loadBodies: {},
    protoset: path.join(cacheDir, "item_service.protoset"),
    ghzData: path.join(cacheDir, "get-item-requests.json"),
  };
  // What must be in a good answer: an item (its code), and for gRPC-Web an OK status trailer.
  const expect: Partial<Record<BodyEncoding, string[]>> = {
    "connect-json": ['"itemCode":"ITEM'],
    "connect-proto": ["ITEM"],
    "grpc-web": ["ITEM", "grpc-status: 0"],
  };
  for (const [encoding, mustContain] of Object.entries(expect) as [BodyEncoding, string[]][]) {
    const file = path.join(cacheDir, `wrk-${encoding}.lua`);
    await writeFile(
      file,
      wrkScript(
        getItemPath,
        { ...headersFor(encoding), ...benchCredential },
        requests.map((r) => encodeGetItemBody(r, encoding)),
        mustContain,
      ),
    );
    inputs.wrkScripts[encoding] = file;
  }
  // h2load sends one body over and over: a fixed, known item.
  for (const encoding of ["grpc", "connect-proto"] as const) {
    const file = path.join(cacheDir, `h2load-${encoding}.bin`);
    await writeFile(file, encodeGetItemBody(getItemRequest("ITEM0042"), encoding));
    inputs.h2loadBodies[encoding] = file;
  }
  await writeFile(inputs.protoset, descriptorSet(file_pos_masterdata_v1_item_service));
  await writeFile(inputs.ghzData, JSON.stringify(requests.map((r) => toJson(GetItemDetailRequestSchema, r))));
  return inputs;
}
