import { fromJsonString } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import {
  CatalogueFileSchema,
  type CatalogueRecord,
  CatalogueRecordSchema,
} from "@pos/gen/pos/masterdata/v1/catalogue_file_pb.js";
import type { UpsertItemRequest, UpsertStorePriceRequest } from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import { checkUpsertItem, checkUpsertStorePrice } from "./validation.js";

export interface ParsedCatalogue {
  items: UpsertItemRequest[];
  storePrices: UpsertStorePriceRequest[];
  /** One line per bad record ("line 7: item_code: is required"); nothing may be written while non-empty. */
  errors: string[];
}

/**
 * Reads a catalogue file: either one JSON document {"records": [...]} or NDJSON
 * with one record per line, both in the schema's JSON form (CatalogueRecord),
 * and checks every record with the same rules as the RPCs.
 */
export function parseCatalogue(text: string): ParsedCatalogue {
  const out: ParsedCatalogue = { items: [], storePrices: [], errors: [] };
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") && /^\{\s*"records"\s*:/.test(trimmed)) {
    try {
      const file = fromJsonString(CatalogueFileSchema, text);
      for (const [i, record] of file.records.entries()) add(out, record, `record ${i + 1}`);
    } catch (e) {
      out.errors.push(`file: ${(e as Error).message}`);
    }
    return out;
  }
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let record: CatalogueRecord;
    try {
      record = fromJsonString(CatalogueRecordSchema, line);
    } catch (e) {
      out.errors.push(`line ${i + 1}: ${(e as Error).message}`);
      return;
    }
    add(out, record, `line ${i + 1}`);
  });
  return out;
}

function add(out: ParsedCatalogue, record: CatalogueRecord, where: string): void {
  try {
    switch (record.record.case) {
      case "item":
        checkUpsertItem(record.record.value);
        out.items.push(record.record.value);
        return;
      case "storePrice":
        checkUpsertStorePrice(record.record.value);
        out.storePrices.push(record.record.value);
        return;
      default:
        out.errors.push(`${where}: a record needs "item" or "storePrice"`);
    }
  } catch (e) {
    out.errors.push(`${where}: ${e instanceof ConnectError ? e.rawMessage : (e as Error).message}`);
  }
}
