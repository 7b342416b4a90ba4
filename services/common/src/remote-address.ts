import { createContextKey } from "@connectrpc/connect";

/** The client's IP address as the server's socket sees it (a proxy's, behind one); per call. */
export const remoteAddressKey = createContextKey<string | undefined>(undefined, {
  description: "the client's remote address",
});
