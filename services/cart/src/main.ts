import { runService } from "@pos/common";
import { createCartApp } from "./app.js";
import { readCartConfig } from "./config.js";
import { openCartDependencies } from "./wiring.js";

// The only place that reads process.env and starts things (start-up, signals, shutdown: run-service.ts).
await runService({
  name: "cart",
  readConfig: readCartConfig,
  open: openCartDependencies,
  async createApp(deps, config) {
    const app = await createCartApp(deps, config);
    app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
    return app;
  },
  serving: (config) => ({
    message: "cart serving CartService on one port",
    fields: { http: ["1.1", "2"], tls: config.tls !== undefined },
  }),
  stopping: (deps) => ({ masterData: deps.items.stats() }),
});
