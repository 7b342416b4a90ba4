import { type ChildProcess, spawn } from "node:child_process";
import { testAuth } from "./auth.js";

/** A service's main.ts running as its own process, with its output captured for assertions. */
export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in the output; rejects (with the output) after timeoutMs or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the port from fastify's "Server listening at" line. */
  port(timeoutMs?: number): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `entry` with `env` over this test file's credentials (testAuth.env: keys, JWKS, secret), so
 * the harness clients' tokens are accepted; a test that wants other AUTH_* values passes them.
 */
export function spawnService(entry: string, env: Record<string, string>): ServiceProcess {
  // TypeScript sources through tsx; built JavaScript (dist/*.js) as node runs it in production.
  const args = entry.endsWith(".ts") ? ["--import", "tsx", entry] : ["--enable-source-maps", entry];
  const child = spawn(process.execPath, args, {
    // Rate limits off unless a test turns them on: a suite's many calls all come from one address.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RATE_LIMITS: "false", ...testAuth.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let done = false;
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const l of listeners) l();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      done = true;
      resolve(code);
      for (const l of listeners) l();
    }),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern);
        if (m || done) {
          listeners.delete(check);
          clearTimeout(timer);
          if (m) resolve(m);
          else reject(new Error(`process exited before printing ${pattern}; output:\n${out}`));
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return {
    child,
    output: () => out,
    exited,
    waitFor,
    port: async (timeoutMs) => Number((await waitFor(/Server listening at https?:\/\/[^:]+:(\d+)/, timeoutMs))[1]),
    async stop(signal = "SIGTERM") {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}
