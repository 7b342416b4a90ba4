import type { SecureContext } from "node:tls";
import {
  type PemFiles,
  type PemMaterial,
  readPemFiles,
  secureContextOf,
  type TlsReloadLog,
  watchPemFiles,
} from "@pos/common";

/**
 * cart's TLS towards master-data: the CA that master-data's certificate must chain to
 * (MASTER_DATA_CA_FILE; Node's default roots when absent) and the client certificate cart presents
 * (MASTER_DATA_CLIENT_CERT_FILE/_KEY_FILE, for mTLS). Every new connection of every transport takes
 * `context()`, so a rotated file reaches the next connection; open ones keep theirs.
 */
export interface ClientTls {
  context(): SecureContext;
  /** Stops watching the files. */
  close(): void;
}

export interface ClientTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export interface ClientTlsOptions {
  /** Re-read the files this often (see tls-files.ts in @pos/common); 0 or absent: never. */
  reloadIntervalMs?: number | undefined;
  log?: TlsReloadLog | undefined;
}

const silent: TlsReloadLog = { info: () => {}, error: () => {} };

/** Reads the files now (throws, naming the problem, when they are not usable) and watches them. */
export function createClientTls(files: ClientTlsFiles, options: ClientTlsOptions = {}): ClientTls {
  const pem: PemFiles = { ca: files.caFile, cert: files.certFile, key: files.keyFile };
  const material: PemMaterial = readPemFiles(pem);
  let context = secureContextOf(material);
  const interval = options.reloadIntervalMs ?? 0;
  const watch =
    interval > 0
      ? watchPemFiles(pem, {
          intervalMs: interval,
          current: material,
          apply: (next) => {
            context = secureContextOf(next);
          },
          log: options.log ?? silent,
          what: "master-data client",
        })
      : undefined;
  return {
    context: () => context,
    close: () => watch?.stop(),
  };
}
