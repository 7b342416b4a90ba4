import { testAuth } from "@pos/common/testing";

/**
 * What every bench call sends: an admin token of the demo tenant, from the test credentials that
 * the servers spawned by this process trust (spawnService hands them testAuth.env). Child client
 * processes get these headers in their spec: their own testAuth would be another issuer.
 */
export const benchCredential: Record<string, string> = { authorization: testAuth.adminBearer };
