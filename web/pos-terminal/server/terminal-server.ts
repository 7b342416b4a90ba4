import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance } from "fastify";

/** What the page reads from /config.json: the site's defaults; a cashier's saved settings win over them. */
export interface SiteConfig {
  /** Where the browser finds cart (must allow this site's origin: cart's CORS_ALLOWED_ORIGINS). */
  cartUrl?: string;
  tenantId?: string;
  storeCode?: string;
  terminalId?: string;
  staffId?: string;
}

export interface TerminalServerOptions {
  /** The built page (vite build's outDir). */
  staticDir: string;
  site: SiteConfig;
  logLevel: string;
}

/**
 * The page's own tiny static server: the page is plain files on another origin than cart, as a
 * terminal's page would be on a CDN, so cart's CORS policy is what lets it call.
 */
export async function createTerminalServer(options: TerminalServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: options.logLevel, base: { service: "pos-terminal" } } });
  // Never an API key here: anyone who can load the page can read this file.
  app.get("/config.json", async (_req, reply) => reply.header("cache-control", "no-store").send(options.site));
  await app.register(fastifyStatic, {
    root: options.staticDir,
    // Vite fingerprints assets, so they may be cached for good; index.html must be revalidated.
    setHeaders: (reply, path) =>
      reply.header("cache-control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache"),
  });
  app.get("/healthz", async () => ({ status: "ok", service: "pos-terminal" }));
  return app;
}
