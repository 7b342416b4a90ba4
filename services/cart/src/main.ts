import { ConfigError, UnavailableError } from "@pos/common";
import type { FastifyBaseLogger } from "fastify";
import { createCartApp } from "./app.js";
import { readCartConfig } from "./config.js";
import { openCartDependencies } from "./wiring.js";

// The only place that reads process.env and starts things.
async function main(): Promise<void> {
  const config = readCartConfig(process.env);
  // The log exists once the app does; the breaker cannot change state before the first call anyway.
  let log: FastifyBaseLogger | undefined;
  const deps = await openCartDependencies(config, {
    onBreakerStateChange: ({ from, to, lastFailure }) =>
      log?.[to === "closed" ? "info" : "warn"](
        { from, to, lastFailure },
        `master-data circuit breaker ${from} → ${to}`,
      ),
  });
  const app = await createCartApp(deps, config);
  log = app.log;
  app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal, masterData: deps.items.stats() }, "shutting down");
    await app.close();
    await deps.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await app.listen({ host: config.host, port: config.port });
  app.log.info({ http: ["1.1", "2"], tls: config.tls !== undefined }, "cart serving CartService on one port");
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof UnavailableError) {
    console.error(`cart: ${e.message}`);
  } else {
    console.error("cart failed to start:", e);
  }
  process.exit(1);
});
