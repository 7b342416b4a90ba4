import net from "node:net";
import { it } from "vitest";

/** REDIS_URL, else the local default: where the tests' Redis is. */
export function redisUrlOfTests(): string {
  return process.env.REDIS_URL || "redis://127.0.0.1:6379";
}

/**
 * The Redis a suite runs against: REDIS_URL (set by `pnpm test`, which starts one when it can), else
 * the local 127.0.0.1:6379. Call it at the top level of the test file (it awaits a PING). When that
 * Redis does not answer — or the test command could not provide one and says why in
 * REDIS_SUITE_NOT_RUN — registers one test, skipped at run time with the reason, and returns
 * undefined: the suite is reported NOT RUN instead of failing on a missing server.
 */
export async function redisUrlForSuite(suite: string): Promise<string | undefined> {
  const notRun = process.env.REDIS_SUITE_NOT_RUN;
  const url = redisUrlOfTests();
  const reason = notRun === undefined || notRun === "" ? await unreachable(url) : notRun;
  if (reason === undefined) return url;
  it(`${suite}: needs Redis`, (ctx) => ctx.skip(`NOT RUN: ${reason}`));
  return undefined;
}

/** Why the Redis at `url` cannot serve the suite, or undefined when it answers PING. */
async function unreachable(url: string, timeoutMs = 2000): Promise<string | undefined> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return `REDIS_URL is not a URL: "${url}"`;
  }
  const port = Number(target.port || 6379);
  const host = target.hostname.replace(/^\[|\]$/g, "");
  // Over TLS a plain PING means nothing; there, a TCP connection is all this checks.
  const ping = target.protocol === "redis:";
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why === undefined ? undefined : `Redis at ${url} ${why}`);
    };
    const timer = setTimeout(() => done(`did not answer within ${timeoutMs} ms`), timeoutMs);
    socket.on("error", (e: NodeJS.ErrnoException) => done(`is unreachable (${e.code ?? e.message})`));
    socket.on("connect", () => (ping ? socket.write("PING\r\n") : done(undefined)));
    socket.on("data", (reply) => {
      const text = reply.toString();
      // An auth error is still Redis: the suite's own client will say what is wrong.
      done(text.startsWith("+PONG") || text.startsWith("-NOAUTH") ? undefined : "answered PING with something else");
    });
  });
}
