import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createServiceImplSpec, type ServiceImpl } from "@connectrpc/connect";
import type { UnarySpec } from "./unary-call.js";
import type { UnaryFastPath } from "./unary-fast-path.js";

/**
 * The router the services register on, as given by connect-fastify, which also hands each unary
 * method's implementation (connect-es' own spec of it) to the fast path: the services are still
 * registered once. Registrations with options of their own (per-service interceptors, codecs …)
 * stay with connect-es alone, so that those options keep applying.
 */
export function routerWithFastPath(router: ConnectRouter, fastPath: UnaryFastPath): ConnectRouter {
  const wrapped: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service<T extends DescService>(service: T, implementation: Partial<ServiceImpl<T>>, options?: object) {
      router.service(service, implementation, options);
      if (options === undefined) {
        const spec = createServiceImplSpec(service, implementation);
        for (const method of Object.values(spec.methods))
          if (method.kind === "unary") fastPath.add(method as UnarySpec);
      }
      return wrapped;
    },
    rpc(method: DescMethod, implementation: never, options?: object) {
      router.rpc(method as never, implementation, options as never);
      return wrapped;
    },
  } as ConnectRouter;
  return wrapped;
}
