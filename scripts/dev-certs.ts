// `pnpm dev-certs [dir]`: a development CA and certificates for trying TLS and mTLS locally (README:
// "TLS and mTLS"), in .cache/dev-certs/ unless a directory is given. Made fresh on every run, valid
// for a day, never committed: a deployment brings its own CA.
import { resolve } from "node:path";
import { createTestCa, writePemFiles } from "@pos/common/testing";

const dir = resolve(process.argv[2] ?? ".cache/dev-certs");
const day = 86_400_000;
const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + day) };
const ca = createTestCa("pos-connect dev CA");
// One server certificate for both services on this machine (localhost, 127.0.0.1).
const server = ca.issue({ commonName: "localhost", usage: ["server"], ...validity });
// cart's identity towards master-data, as an mTLS client (a SPIFFE-style URI SAN).
const cart = ca.issue({ commonName: "cart", usage: ["client"], uris: ["spiffe://pos.example/cart"], ...validity });
// Someone else's client certificate, for curl and grpcurl.
const client = ca.issue({ commonName: "dev-client", usage: ["client"], ...validity });
const paths = writePemFiles(dir, {
  "ca.pem": ca.cert,
  "server.pem": server.cert,
  "server-key.pem": server.key,
  "cart.pem": cart.cert,
  "cart-key.pem": cart.key,
  "client.pem": client.cert,
  "client-key.pem": client.key,
});
console.log(`dev CA and certificates (valid until ${validity.notAfter.toISOString()}) in ${dir}:`);
for (const path of Object.values(paths)) console.log(`  ${path}`);
