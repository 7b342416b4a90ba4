import {
  type DescMessage,
  type DescMethodUnary,
  type DescService,
  fromBinary,
  type Message,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

/**
 * A grpc-js service definition built from the protobuf-es descriptors: paths, streaming kinds and
 * (de)serializers all come from the schema, so nothing about the messages is copied by hand.
 */
export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (m: Message) => Buffer.from(toBinary(method.input, m)),
      requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
      responseSerialize: (m: Message) => Buffer.from(toBinary(method.output, m)),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
    };
  }
  return definition;
}

/** An error a unary handler may throw to answer a gRPC status other than OK. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** A typed unary handler for grpc-js: the request arrives as the method's own message type. */
export function unaryHandler<I extends DescMessage, O extends DescMessage>(
  _method: DescMethodUnary<I, O>,
  impl: (req: MessageShape<I>) => Promise<MessageShape<O>>,
): grpc.handleUnaryCall<Message, Message> {
  return (call, callback) => {
    impl(call.request as MessageShape<I>).then(
      (res) => callback(null, res),
      (e: unknown) =>
        callback(
          e instanceof GrpcStatusError
            ? { code: e.code, details: e.message }
            : { code: grpc.status.INTERNAL, details: "internal error" },
        ),
    );
  };
}

/** A grpc-js client constructor for the service, from the same definition. */
export function grpcClientConstructor(service: DescService): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.name);
}
