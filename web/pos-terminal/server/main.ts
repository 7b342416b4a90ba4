import { fileURLToPath } from "node:url";
import { createEnvReader, type Env, runService } from "@pos/common";
import { createTerminalServer, type SiteConfig } from "./terminal-server.js";

interface TerminalConfig {
  host: string;
  port: number;
  logLevel: string;
  staticDir: string;
  site: SiteConfig;
}

function readTerminalConfig(env: Env): TerminalConfig {
  const r = createEnvReader(env);
  const site: SiteConfig = {};
  const cartUrl = r.optionalString("POS_TERMINAL_CART_URL");
  if (cartUrl !== undefined) site.cartUrl = r.url("POS_TERMINAL_CART_URL", cartUrl, ["http:", "https:"]).origin;
  const config: TerminalConfig = {
    host: r.string("HOST", "127.0.0.1"),
    port: r.int("POS_TERMINAL_PORT", 8004, 0, 65535),
    logLevel: r.oneOf("LOG_LEVEL", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    staticDir: r.string("POS_TERMINAL_DIR", fileURLToPath(new URL("../dist", import.meta.url))),
    site,
  };
  r.done();
  return config;
}

// The only place that reads process.env for the page's server.
await runService({
  name: "pos-terminal",
  readConfig: readTerminalConfig,
  open: async () => ({ close: async () => {} }),
  createApp: (_deps, config) => createTerminalServer(config),
  serving: (config) => ({
    message: "pos-terminal serving the POS terminal page",
    fields: { staticDir: config.staticDir, cartUrl: config.site.cartUrl ?? "(this host, port 8003)" },
  }),
});
