import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createCartApp, openCartDependencies, readCartConfig } from "@pos/cart";
import { createTelemetry } from "@pos/common";
import { createMasterDataApp, createMemoryItemStore, readMasterDataConfig } from "@pos/master-data";
import { Ajv } from "ajv";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

// No container engine runs here, so the deployment is checked for what can go wrong without one:
// compose.yaml against the compose-spec schema; every variable it sets is one the service reads
// (and a valid value); every port, health endpoint and scrape target it names exists.
const root = fileURLToPath(new URL("../", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");

interface ComposeService {
  build?: { context: string; target: string };
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  profiles?: string[];
  volumes?: string[];
}
const compose = parse(read("compose.yaml")) as { services: Record<string, ComposeService> };
const dockerfile = read("Dockerfile");

/**
 * The compose-spec JSON schema as the dclint package ships it (current: top-level `name`, `develop`,
 * `models`). It names its draft with an https URI Ajv does not resolve; Ajv's default is that draft.
 */
function composeSpecSchema(): Record<string, unknown> {
  const dir = dirname(createRequire(import.meta.url).resolve("dclint/package.json"));
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(`${dir}/schemas/compose.schema.json`, "utf8"));
  return schema;
}

/** The environment as compose passes it with nothing set on the host: `${X:-default}` → default. */
function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, "$1")]),
  );
}

/**
 * The variables a config reader looks at, given `values`: it is handed an environment that records
 * every read (some variables are read only when another one is set).
 */
function variablesRead(
  readConfig: (env: Record<string, string | undefined>) => unknown,
  values: Record<string, string> = {},
): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy(values as Record<string, string | undefined>, {
    get(target, key) {
      if (typeof key !== "string") return undefined;
      seen.add(key);
      return target[key];
    },
  });
  readConfig(env);
  return seen;
}

const services = {
  "master-data": { readConfig: readMasterDataConfig, portVariable: "MASTER_DATA_PORT" },
  cart: { readConfig: readCartConfig, portVariable: "CART_PORT" },
} as const;

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

/** The service's real app on the compose environment (stores in memory: only routes matter here). */
async function appOf(name: keyof typeof services) {
  const env = { ...environmentOf(compose.services[name]!), MONGODB_URI: "", REDIS_URL: "", LOG_LEVEL: "silent" };
  if (name === "master-data") {
    const config = readMasterDataConfig(env);
    const app = await createMasterDataApp(createMemoryItemStore(), {
      ...config,
      ...createTelemetry(name, config.telemetry),
    });
    closers.push(() => app.close());
    return app;
  }
  const config = readCartConfig(env);
  const telemetry = createTelemetry(name, config.telemetry);
  const deps = await openCartDependencies(config, { telemetry });
  const app = await createCartApp(deps, { ...config, ...telemetry });
  closers.push(async () => {
    await app.close();
    await deps.close();
  });
  return app;
}

describe("compose.yaml", () => {
  it("is valid against the compose-spec JSON schema", () => {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(composeSpecSchema());
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    // The schema is strict enough to matter: a misspelt key fails it.
    const misspelt = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    misspelt.services.cart = { ...misspelt.services.cart, healtcheck: misspelt.services.cart?.healthcheck };
    expect(validate(misspelt)).toBe(false);
  });

  it("runs MongoDB, Redis with its append-only file, master-data and scalable cart replicas", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(["mongodb", "redis", "master-data", "cart", "prometheus", "otel-collector"]),
    );
    expect(compose.services.redis?.healthcheck).toBeDefined();
    expect(JSON.stringify(compose.services.redis)).toMatch(/"--appendonly","yes"/);
    // A range of host ports: one per replica, so `--scale cart=N` does not collide.
    expect(compose.services.cart?.ports).toEqual(["8003-8012:8003"]);
    expect(compose.services.prometheus?.profiles).toEqual(["observability"]);
    expect(compose.services["otel-collector"]?.profiles).toEqual(["observability"]);
  });

  it("waits on healthy dependencies, and every one of them has a healthcheck", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} → ${dependency}`).toBeDefined();
        expect(condition, `${name} → ${dependency}`).toBe("service_healthy");
        expect(compose.services[dependency]?.healthcheck, `${dependency} has a healthcheck`).toBeDefined();
      }
    }
  });

  for (const [name, { readConfig, portVariable }] of Object.entries(services)) {
    describe(name, () => {
      const service = compose.services[name]!;
      const env = environmentOf(service);

      it("sets only variables the service reads, with values it accepts, and builds its Dockerfile target", () => {
        const known = new Set([...variablesRead(readConfig), ...variablesRead(readConfig, env)]);
        for (const variable of Object.keys(env)) expect(known, `${name} reads ${variable}`).toContain(variable);
        // And every variable it reads is wired, but for TLS: in compose, TLS ends at the proxy in front,
        // and cart reaches master-data over the compose network (no MASTER_DATA_ CA or client certificate).
        const tlsOnly = /^(TLS_|MASTER_DATA_(CA_FILE|CLIENT_CERT_FILE|CLIENT_KEY_FILE|TLS_RELOAD_INTERVAL_MS)$)/;
        const unset = [...known].filter((v) => !(v in env) && !tlsOnly.test(v));
        expect(unset, `${name}: variables read but not set in compose.yaml`).toEqual([]);
        expect(() => readConfig(env)).not.toThrow();
        expect(service.build?.target).toBe(name);
        expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${name}$`, "m"));
      });

      it("publishes the port it listens on, and its healthcheck asks an endpoint that answers", async () => {
        const port = env[portVariable];
        expect(service.ports?.every((p) => p.endsWith(`:${port}`))).toBe(true);
        const url = new URL(service.healthcheck?.test.at(-1) ?? "");
        expect(url.port).toBe(port);
        const app = await appOf(name as keyof typeof services);
        expect((await app.inject({ url: url.pathname })).statusCode).toBe(200);
        // And what Prometheus scrapes.
        expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200);
      });
    });
  }

  it("Prometheus scrapes each service's /metrics on the port it listens on", () => {
    const prometheus = parse(read("deploy/prometheus.yml")) as {
      scrape_configs: {
        job_name: string;
        metrics_path: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    };
    const targets = prometheus.scrape_configs.flatMap((c) => [
      ...(c.static_configs ?? []).flatMap((s) => s.targets),
      ...(c.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}`)),
    ]);
    expect(prometheus.scrape_configs.every((c) => c.metrics_path === "/metrics")).toBe(true);
    expect(targets.sort()).toEqual(
      [
        `cart:${environmentOf(compose.services.cart!).CART_PORT}`,
        `master-data:${environmentOf(compose.services["master-data"]!).MASTER_DATA_PORT}`,
      ].sort(),
    );
  });
});

describe("Dockerfile", () => {
  it("is multi-stage, runs as a non-root user, checks health, ships compiled JavaScript and production dependencies only", () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    for (const stage of dockerfile
      .split(/^FROM /m)
      .slice(1)
      .filter((s) => /^\S+ AS (master-data|cart)$/m.test(s))) {
      expect(stage).toMatch(/^USER (?!root\b)\S+/m);
      expect(stage).toMatch(/^HEALTHCHECK /m);
      expect(stage).toMatch(/^CMD \["node", .*"services\/(master-data|cart)\/dist\/main\.js"\]$/m);
      expect(stage).not.toMatch(/tsx/);
    }
    expect(dockerfile).toMatch(/install --frozen-lockfile --prod --filter "@pos\/master-data\.\.\."/);
    expect(dockerfile).toMatch(/install --frozen-lockfile --prod --filter "@pos\/cart\.\.\."/);
  });

  it("runs the Node line the project runs on (.node-version)", () => {
    const major = read(".node-version").trim().replace(/^v/, "").split(".")[0];
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_VERSION=${major}$`, "m"));
  });

  it("copies only files that exist", () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of m[1]!.split(/\s+/)) {
        if (source !== ".") expect(existsSync(`${root}${source}`), source).toBe(true);
      }
    }
  });

  // What the image runs, made the way the Dockerfile makes it: `pnpm build`, then a fresh install of
  // one service's production dependencies only, from the same lockfile, beside its dist/.
  it("its build runs: dist/main.js beside a production-only install is ready", async () => {
    const out = mkdtempSync(`${tmpdir()}/pos-image-`);
    try {
      execFileSync("pnpm", ["build"], { cwd: root, stdio: "pipe" });
      const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
      for (const source of copied.filter((s) => s !== "." && !s.startsWith("deploy/"))) {
        cpSync(`${root}${source}`, `${out}/${source}`, { recursive: true });
      }
      execFileSync("pnpm", ["install", "--frozen-lockfile", "--prod", "--filter", "@pos/master-data..."], {
        cwd: out,
        stdio: "pipe",
        env: { ...process.env, CI: "true" },
      });
      expect(existsSync(`${out}/node_modules/.pnpm`)).toBe(true);
      expect(
        readdirSync(`${out}/node_modules/.pnpm`).filter((d) => /^(vitest|tsx|typescript|@biomejs)/.test(d)),
      ).toEqual([]);
      cpSync(`${root}services/master-data/dist`, `${out}/services/master-data/dist`, { recursive: true });
      const child = spawn(process.execPath, ["services/master-data/dist/main.js"], {
        cwd: out,
        env: { PATH: process.env.PATH, MASTER_DATA_PORT: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        let output = "";
        const port = await new Promise<string>((resolve, reject) => {
          const onData = (b: Buffer) => {
            output += b.toString();
            const m = /Server listening at http:\/\/[^:]+:(\d+)/.exec(output);
            if (m) resolve(m[1]!);
          };
          child.stdout.on("data", onData);
          child.stderr.on("data", onData);
          child.on("exit", () => reject(new Error(`exited: ${output}`)));
        });
        expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      } finally {
        child.kill("SIGKILL");
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
