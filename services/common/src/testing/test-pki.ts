import { generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

// Certificates made at test time (and by scripts/dev-certs.ts), so that no key is ever committed.

export interface TestCa {
  /** The CA certificate, PEM: a TLS_CLIENT_CA_FILE / MASTER_DATA_CA_FILE bundle. */
  cert: string;
  /** Issues a leaf certificate signed by this CA. */
  issue(options: LeafOptions): TestLeaf;
}

export interface TestLeaf {
  cert: string;
  key: string;
}

export interface LeafOptions {
  commonName: string;
  /** DNS names and IP addresses; servers get localhost and 127.0.0.1 unless given. */
  dns?: string[];
  ips?: string[];
  /** URI SANs, e.g. spiffe://pos.example/cart. */
  uris?: string[];
  /** What the certificate may be used for (extended key usage); both unless given. */
  usage?: ("server" | "client")[];
  /** Validity; default from an hour ago for a day. */
  notBefore?: Date;
  notAfter?: Date;
}

const hour = 3_600_000;

/** An RSA key pair made by Node (OpenSSL), with the PEM OpenSSL writes; forge only signs with it. */
function rsaKeys(): { pem: string; forge: forge.pki.rsa.KeyPair } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return {
    pem: privateKey,
    forge: {
      privateKey: forge.pki.privateKeyFromPem(privateKey),
      publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    },
  };
}

/** A fresh CA (RSA 2048) valid from an hour ago for a day. */
export function createTestCa(commonName = "pos-connect test CA"): TestCa {
  const keys = rsaKeys().forge;
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - hour);
  cert.validity.notAfter = new Date(Date.now() + 24 * hour);
  const subject = [{ name: "commonName", value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const caPem = forge.pki.certificateToPem(cert);
  const caParsed = new X509Certificate(caPem);
  return {
    cert: caPem,
    issue(options) {
      const leafKeys = rsaKeys();
      const leaf = forge.pki.createCertificate();
      leaf.publicKey = leafKeys.forge.publicKey;
      leaf.serialNumber = serial();
      leaf.validity.notBefore = options.notBefore ?? new Date(Date.now() - hour);
      leaf.validity.notAfter = options.notAfter ?? new Date(Date.now() + 24 * hour);
      leaf.setSubject([{ name: "commonName", value: options.commonName }]);
      leaf.setIssuer(subject);
      const usage = options.usage ?? ["server", "client"];
      const serverDefaults = usage.includes("server");
      const altNames = [
        ...(options.dns ?? (serverDefaults ? ["localhost"] : [])).map((value) => ({ type: 2, value })),
        ...(options.ips ?? (serverDefaults ? ["127.0.0.1"] : [])).map((ip) => ({ type: 7, ip })),
        ...(options.uris ?? []).map((value) => ({ type: 6, value })),
      ];
      leaf.setExtensions([
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: usage.includes("server"), clientAuth: usage.includes("client") },
        ...(altNames.length === 0 ? [] : [{ name: "subjectAltName", altNames }]),
        { name: "authorityKeyIdentifier", keyIdentifier: cert.generateSubjectKeyIdentifier().getBytes() },
      ]);
      leaf.sign(keys.privateKey, forge.md.sha256.create());
      const pem = forge.pki.certificateToPem(leaf);
      // What OpenSSL will make of it, checked here rather than as a puzzling handshake failure later.
      const parsed = new X509Certificate(pem);
      if (!parsed.checkIssued(caParsed) || !parsed.verify(caParsed.publicKey)) {
        throw new Error(`test PKI: the certificate for ${options.commonName} does not verify against its CA`);
      }
      return { cert: pem, key: leafKeys.pem };
    },
  };
}

/**
 * A positive serial number in minimal DER. forge writes the hex nearly as given (it drops one
 * leading 00 byte, not two): a first byte of 0x01-0x7f is never padding, never negative.
 */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) % 0x7f) + 1;
  return bytes.toString("hex");
}

/** Writes `files` (name → PEM) into `dir` (created if needed); returns name → path. */
export function writePemFiles<T extends Record<string, string>>(dir: string, files: T): { [K in keyof T]: string } {
  mkdirSync(dir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const [name, pem] of Object.entries(files)) {
    const path = join(dir, name);
    // Keys are secrets even in tests: readable by the owner only, as a deployment would have them.
    writeFileSync(path, pem, { mode: 0o600 });
    paths[name] = path;
  }
  return paths as { [K in keyof T]: string };
}
