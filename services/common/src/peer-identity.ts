import type http from "node:http";
import type http2 from "node:http2";
import type { PeerCertificate } from "node:tls";
import { createContextKey } from "@connectrpc/connect";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, id_ce_subjectAltName, SubjectAlternativeName } from "@peculiar/asn1-x509";

/**
 * Who the client is by its TLS certificate (mTLS), once the server has verified the certificate
 * against TLS_CLIENT_CA_FILE. Read it in a handler or interceptor with
 * `context.values.get(peerIdentityKey)`; undefined on cleartext, without a client certificate, or
 * with one that did not verify (TLS_CLIENT_AUTH=request lets those connect).
 */
export interface PeerIdentity {
  /** The subject's common name (CN), when it has one. */
  commonName: string | undefined;
  /** URI subject alternative names, e.g. spiffe://pos.example/cart (SPIFFE IDs). */
  uris: readonly string[];
  /** DNS subject alternative names. */
  dnsNames: readonly string[];
  /** The issuing CA's common name. */
  issuer: string | undefined;
  /** SHA-256 of the certificate, as Node writes it (AB:CD:…): pins one certificate. */
  fingerprint256: string;
  serialNumber: string;
  /** The certificate's end of validity. */
  validTo: Date;
}

export const peerIdentityKey = createContextKey<PeerIdentity | undefined>(undefined, {
  description: "the verified TLS client certificate's identity (mTLS)",
});

/** What peerIdentityOf needs of a TLS socket; HTTP/2 sessions hand out a proxy of it. */
interface TlsSocketLike {
  readonly encrypted?: boolean;
  readonly authorized?: boolean;
  getPeerCertificate?(detailed?: boolean): PeerCertificate | Record<string, never>;
}

// Per connection, not per call: the certificate of a connection never changes (renegotiation is off
// in TLS 1.3 and refused by Node's server in 1.2). Keyed by the socket (HTTP/1.1) or the HTTP/2
// session, whose socket is a new proxy object on every read.
const identities = new WeakMap<object, PeerIdentity | null>();

/** The verified client identity of a request's connection (HTTP/1.1 or HTTP/2 compatibility request). */
export function peerIdentityOf(req: http.IncomingMessage | http2.Http2ServerRequest): PeerIdentity | undefined {
  if ("stream" in req) return peerIdentityOfStream(req.stream);
  return cached(req.socket, req.socket as TlsSocketLike);
}

/** The verified client identity of an HTTP/2 stream's connection. */
export function peerIdentityOfStream(stream: http2.ServerHttp2Stream): PeerIdentity | undefined {
  const session = stream.session;
  if (session === undefined || !session.encrypted) return undefined;
  return cached(session, session.socket as TlsSocketLike);
}

function cached(key: object, socket: TlsSocketLike): PeerIdentity | undefined {
  const known = identities.get(key);
  if (known !== undefined) return known ?? undefined;
  const identity = identityOf(socket);
  identities.set(key, identity ?? null);
  return identity;
}

function identityOf(socket: TlsSocketLike): PeerIdentity | undefined {
  if (socket.encrypted !== true || socket.authorized !== true || socket.getPeerCertificate === undefined) {
    return undefined;
  }
  const cert = socket.getPeerCertificate(false);
  if (!("raw" in cert) || cert.raw === undefined) return undefined;
  const names = subjectAltNames(cert.raw);
  return {
    commonName: first(cert.subject?.CN),
    uris: names.uris,
    dnsNames: names.dnsNames,
    issuer: first(cert.issuer?.CN),
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
    validTo: new Date(cert.valid_to),
  };
}

/**
 * The SANs from the DER certificate itself, not from Node's `subjectaltname` text, whose entries
 * need unquoting and cannot be split on ", " safely (CVE-2021-44532).
 */
function subjectAltNames(der: Buffer): { uris: string[]; dnsNames: string[] } {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const certificate = AsnConvert.parse(der, Certificate);
  const extension = certificate.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
  if (extension !== undefined) {
    for (const name of AsnConvert.parse(extension.extnValue, SubjectAlternativeName)) {
      if (name.uniformResourceIdentifier !== undefined) uris.push(name.uniformResourceIdentifier);
      if (name.dNSName !== undefined) dnsNames.push(name.dNSName);
    }
  }
  return { uris, dnsNames };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
