import { createRegistry, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "@pos/gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "@pos/gen/grpc/reflection/v1alpha/reflection_pb.js";

/** One request of the reflection stream; v1 and v1alpha have the same shape. */
type ReflectionQuery =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * gRPC server reflection, v1 and v1alpha (grpcurl and `buf curl` without local protos), answered
 * from the descriptors protoc-gen-es embeds in gen/: exactly the files the schema was built from.
 * `services` is read on each request, so it may grow after registration (the router's own list).
 */
export function registerReflection(
  router: ConnectRouter,
  services: () => readonly DescService[],
  /** Files served besides the services' own (types clients meet elsewhere, e.g. in error details). */
  extraFiles: readonly DescFile[] = [],
): void {
  let index: ReturnType<typeof buildIndex> | undefined;
  let indexedCount = -1;
  const current = () => {
    const list = services();
    if (index === undefined || indexedCount !== list.length) {
      index = buildIndex(list, extraFiles);
      indexedCount = list.length;
    }
    return index;
  };
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: current().answer(req.messageRequest) };
      }
    },
  });
  router.service(ServerReflectionV1Alpha, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: current().answer(req.messageRequest) };
      }
    },
  });
}

function buildIndex(services: readonly DescService[], extraFiles: readonly DescFile[]) {
  const files = new Map<string, DescFile>();
  const collect = (f: DescFile) => {
    if (files.has(f.proto.name)) return;
    files.set(f.proto.name, f);
    for (const d of f.dependencies) collect(d);
  };
  for (const s of services) collect(s.file);
  for (const f of extraFiles) collect(f);
  const registry = createRegistry(...files.values());
  const serviceNames = [...new Set(services.map((s) => s.typeName))].sort();
  const encoded = new Map<DescFile, Uint8Array>();

  /** The file and everything it imports, transitively, each once: what a client needs to decode it. */
  const withDependencies = (file: DescFile): ReflectionAnswer => {
    const out: Uint8Array[] = [];
    const seen = new Set<DescFile>();
    const visit = (f: DescFile) => {
      if (seen.has(f)) return;
      seen.add(f);
      let bytes = encoded.get(f);
      if (bytes === undefined) {
        bytes = toBinary(FileDescriptorProtoSchema, f.proto);
        encoded.set(f, bytes);
      }
      out.push(bytes);
      for (const d of f.dependencies) visit(d);
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
  };
  const notFound = (what: string): ReflectionAnswer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
  });

  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const type = registry.get(symbol);
    if (type !== undefined) return type.file;
    // A method ("pkg.Service.Method") or an enum value: look up its parent.
    const dot = symbol.lastIndexOf(".");
    if (dot < 0) return undefined;
    const parent = registry.get(symbol.slice(0, dot));
    const member = symbol.slice(dot + 1);
    if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) return parent.file;
    if (parent?.kind === "enum" && parent.values.some((v) => v.name === member)) return parent.file;
    return undefined;
  };

  return {
    answer(query: ReflectionQuery): ReflectionAnswer {
      switch (query.case) {
        case "listServices":
          return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } };
        case "fileByFilename": {
          const file = files.get(query.value);
          return file === undefined ? notFound(`file "${query.value}"`) : withDependencies(file);
        }
        case "fileContainingSymbol": {
          const file = fileOfSymbol(query.value);
          return file === undefined ? notFound(`symbol "${query.value}"`) : withDependencies(file);
        }
        case "fileContainingExtension": {
          const { containingType, extensionNumber } = query.value;
          const message = registry.getMessage(containingType);
          const ext = message === undefined ? undefined : registry.getExtensionFor(message, extensionNumber);
          return ext === undefined
            ? notFound(`extension ${extensionNumber} of "${containingType}"`)
            : withDependencies(ext.file);
        }
        case "allExtensionNumbersOfType": {
          if (registry.getMessage(query.value) === undefined) return notFound(`type "${query.value}"`);
          const numbers: number[] = [];
          for (const t of registry) {
            if (t.kind === "extension" && t.extendee.typeName === query.value) numbers.push(t.number);
          }
          return {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: query.value, extensionNumber: numbers },
          };
        }
        default:
          return {
            case: "errorResponse",
            value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
          };
      }
    },
  };
}
