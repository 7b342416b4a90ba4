import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContext } from "node:tls";

/**
 * PEM files that make up one side of a TLS connection: a certificate chain and its key, and the CA
 * bundle that the peer's certificate must chain to (servers: client certificates; clients: the
 * server's). Any of them may be absent (a client that only verifies the server has no cert/key).
 */
export interface PemFiles {
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
}

/** The contents of PemFiles, as `tls.createSecureContext` takes them. */
export interface PemMaterial {
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  ca?: Buffer | undefined;
}

/** Logs a reload's outcome; pino's (fastify's) logger fits. */
export interface TlsReloadLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface PemWatchOptions {
  /** How often the files are read and compared with what is in use. */
  intervalMs: number;
  /** What is in use now (read at start-up), so the first look only acts on a change. */
  current: PemMaterial;
  /**
   * Puts new material to use; throws when it cannot (a key that does not match its certificate, a
   * file that is not PEM), and then the material in use stays.
   */
  apply(material: PemMaterial): void;
  log: TlsReloadLog;
  /** For the log lines, e.g. "server", "master-data client". */
  what: string;
}

/** Reads the files at start-up; a missing or unreadable file throws, naming it. */
export function readPemFiles(files: PemFiles): PemMaterial {
  const material: PemMaterial = {};
  for (const part of ["cert", "key", "ca"] as const) {
    const file = files[part];
    if (file !== undefined) material[part] = readFileSync(file);
  }
  return material;
}

/**
 * A secure context for `material`; throws with OpenSSL's reason when the PEM is unusable (not PEM,
 * a key that does not match its certificate). `ca`, when given, replaces Node's default roots.
 */
export function secureContextOf(material: PemMaterial): SecureContext {
  if (material.ca !== undefined) checkCaBundle(material.ca);
  return createSecureContext(contextOptionsOf(material));
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * OpenSSL skips what is not a certificate in a CA bundle without a word, and a bundle with none
 * would refuse every peer: a bundle must hold at least one certificate, and nothing else that
 * looks like one but does not parse.
 */
function checkCaBundle(ca: Buffer): void {
  const blocks = ca.toString("latin1").match(pemCertificate) ?? [];
  if (blocks.length === 0) throw new Error("the CA bundle holds no PEM certificate");
  for (const block of blocks) new X509Certificate(block);
}

/** Only the parts that are there: `ca: undefined` would still be a key that createSecureContext reads. */
export function contextOptionsOf(material: PemMaterial): PemMaterial {
  const options: PemMaterial = {};
  if (material.cert !== undefined) options.cert = material.cert;
  if (material.key !== undefined) options.key = material.key;
  if (material.ca !== undefined) options.ca = material.ca;
  return options;
}

/**
 * Polls the files every intervalMs and applies their contents when they changed. A rotation that
 * writes the certificate and the key one after the other is seen half-done at worst: that
 * material fails to apply, is logged once, and the next look (both files written) applies it.
 * Files that cannot be read or used are logged once per distinct content; what is in use stays.
 * Polling, not fs.watch: it sees a file replaced by a rename or a symlink swap (as Kubernetes
 * mounts secrets) the same way as one rewritten in place, on every file system.
 */
export function watchPemFiles(files: PemFiles, options: PemWatchOptions): { stop(): void } {
  let inUse = fingerprint(options.current);
  let lastProblem: string | undefined;
  let stopped = false;
  let running = false;

  const look = async (): Promise<void> => {
    let material: PemMaterial;
    try {
      material = await readAll(files);
    } catch (e) {
      report(`read:${(e as Error).message}`, e, "cannot read the TLS files; the certificates in use stay");
      return;
    }
    if (stopped) return;
    const seen = fingerprint(material);
    if (seen === inUse) {
      lastProblem = undefined;
      return;
    }
    let served: Record<string, unknown>;
    try {
      served = checkLeaf(material);
      if (material.ca !== undefined) checkCaBundle(material.ca);
      options.apply(material);
    } catch (e) {
      report(`apply:${seen}`, e, "the changed TLS files cannot be used; the certificates in use stay");
      return;
    }
    inUse = seen;
    lastProblem = undefined;
    options.log.info(
      { tls: options.what, files: present(files), ...served },
      "TLS files changed: new connections use them",
    );
  };

  const report = (problem: string, e: unknown, message: string): void => {
    if (problem === lastProblem) return;
    lastProblem = problem;
    options.log.error({ tls: options.what, files: present(files), err: e }, message);
  };

  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void look().finally(() => {
      running = false;
    });
  }, options.intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * A certificate that is not valid now would only move the failure to every handshake: keep the one in
 * use instead (what the log line says). Returns what the log line of a reload names.
 */
function checkLeaf(material: PemMaterial): Record<string, unknown> {
  if (material.cert === undefined) return {};
  const leaf = new X509Certificate(material.cert);
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) throw new Error(`the certificate expired on ${leaf.validTo}`);
  if (Date.parse(leaf.validFrom) > now) throw new Error(`the certificate is not valid before ${leaf.validFrom}`);
  return { subject: leaf.subject, validTo: leaf.validTo, fingerprint256: leaf.fingerprint256 };
}

async function readAll(files: PemFiles): Promise<PemMaterial> {
  const material: PemMaterial = {};
  await Promise.all(
    (["cert", "key", "ca"] as const).map(async (part) => {
      const file = files[part];
      if (file !== undefined) material[part] = await readFile(file);
    }),
  );
  return material;
}

function fingerprint(material: PemMaterial): string {
  const hash = createHash("sha256");
  for (const part of ["cert", "key", "ca"] as const) {
    const bytes = material[part];
    hash.update(`${part}:${bytes?.length ?? -1}:`);
    if (bytes !== undefined) hash.update(bytes);
  }
  return hash.digest("hex");
}

function present(files: PemFiles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [part, file] of Object.entries(files)) if (typeof file === "string") out[part] = file;
  return out;
}
