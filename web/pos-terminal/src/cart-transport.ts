import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import type { TerminalSettings } from "./settings.js";

/** The only place in the page that knows protocols: settings → Transport. */
export function createCartTransport(settings: Pick<TerminalSettings, "cartUrl" | "protocol" | "apiKey">): Transport {
  const interceptors = settings.apiKey === "" ? [] : [apiKeyInterceptor(settings.apiKey)];
  const baseUrl = settings.cartUrl.replace(/\/+$/, "");
  // A till must not hang on a dead network: every call is bounded (cart's own master-data calls are shorter).
  const defaultTimeoutMs = 10_000;
  switch (settings.protocol) {
    case "connect-json":
      return createConnectTransport({ baseUrl, useBinaryFormat: false, interceptors, defaultTimeoutMs });
    case "connect-binary":
      return createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors, defaultTimeoutMs });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors, defaultTimeoutMs });
  }
}

// The header cart's CORS policy already allows for terminal authentication (see README: Browsers).
function apiKeyInterceptor(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("x-api-key", apiKey);
    return next(req);
  };
}
