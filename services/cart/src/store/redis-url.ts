/** Where the cart store's Redis is: one server, or a Redis Cluster found through some of its nodes. */
export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "cluster"; nodeUrls: string[]; credentials: { username?: string; password?: string } };

/**
 * `redis://` / `rediss://` → one server (the URL as node-redis reads it);
 * `redis-cluster://[user:pass@]host:port,host:port,…` (`rediss-cluster://` for TLS) → a Redis Cluster,
 * whose topology is discovered from those nodes (name at least one; three is better).
 */
export function parseRedisUrl(url: string): RedisTarget | { kind: "invalid"; problem: string } {
  if (/^rediss?:\/\//.test(url)) return { kind: "single", url };
  const m = /^(rediss?)-cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/.exec(url);
  if (m === null) {
    return {
      kind: "invalid",
      problem: `must start with redis://, rediss://, redis-cluster:// or rediss-cluster://, got "${redact(url)}"`,
    };
  }
  const [, scheme, userinfo, hosts] = m;
  const nodes = (hosts ?? "").split(",").map((h) => h.trim());
  const bad = nodes.filter((h) => !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(h));
  if (nodes.length === 0 || bad.length > 0) {
    return { kind: "invalid", problem: `cluster nodes must be host:port, comma-separated, got "${bad.join(",")}"` };
  }
  const credentials: { username?: string; password?: string } = {};
  if (userinfo !== undefined && userinfo !== "") {
    const [user, ...pass] = userinfo.split(":");
    if (user !== undefined && user !== "") credentials.username = decodeURIComponent(user);
    if (pass.length > 0) credentials.password = decodeURIComponent(pass.join(":"));
  }
  return { kind: "cluster", nodeUrls: nodes.map((h) => `${scheme}://${h}`), credentials };
}

// Never show a password that may sit in the URL.
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
