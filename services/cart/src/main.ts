import { ConfigError, createHealth, ServingStatus, UnavailableError } from "@pos/common";
import { createCartApp } from "./app.js";
import { readCartConfig } from "./config.js";
import { openCartDependencies } from "./wiring.js";

// The only place that reads process.env and starts things.
async function main(): Promise<void> {
  const config = readCartConfig(process.env);
  const deps = await openCartDependencies(config);
  const health = createHealth({
    probes: [
      { name: `carts: ${deps.describe.carts}`, ping: () => deps.carts.ping() },
      { name: `transactions: ${deps.describe.transactions}`, ping: () => deps.transactions.ping() },
    ],
    onChange: (status, failing) => app.log.warn({ failing }, `health: ${ServingStatus[status]}`),
  });
  const app = await createCartApp(deps, { ...config, health });
  app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    health.shutdown();
    app.log.info({ signal, masterData: deps.items.stats() }, "shutting down");
    await app.close();
    await deps.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await health.start();
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
