import { createHealth, runService, ServingStatus } from "@pos/common";
import { createCartApp } from "./app.js";
import { readCartConfig } from "./config.js";
import { openCartDependencies } from "./wiring.js";

// The only place that reads process.env and starts things (start-up, signals, shutdown: run-service.ts).
await runService({
  name: "cart",
  readConfig: readCartConfig,
  async open(config) {
    const deps = await openCartDependencies(config);
    // Ready while both stores answer; master-data is not one of them (see README: health).
    const health = createHealth({
      probes: [
        { name: `carts: ${deps.describe.carts}`, ping: () => deps.carts.ping() },
        { name: `transactions: ${deps.describe.transactions}`, ping: () => deps.transactions.ping() },
      ],
    });
    return { ...deps, health };
  },
  async createApp(deps, config) {
    const app = await createCartApp(deps, { ...config, health: deps.health });
    deps.health.subscribe((status, failing) => app.log.warn({ failing }, `health: ${ServingStatus[status]}`));
    app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
    await deps.health.start();
    return app;
  },
  onStop: (deps) => deps.health.shutdown(),
  serving: (config) => ({
    message: "cart serving CartService on one port",
    fields: { http: ["1.1", "2"], tls: config.tls !== undefined },
  }),
  stopping: (deps) => ({ masterData: deps.items.stats() }),
});
