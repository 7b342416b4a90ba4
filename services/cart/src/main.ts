import { runService } from "@pos/common";
import type { FastifyBaseLogger } from "fastify";
import { createCartApp } from "./app.js";
import { readCartConfig } from "./config.js";
import { openCartDependencies } from "./wiring.js";

// The log exists once the app does; the breaker cannot change state before the first call anyway.
let log: FastifyBaseLogger | undefined;

// The only place that reads process.env and starts things (start-up, signals, shutdown: run-service.ts).
await runService({
  name: "cart",
  readConfig: readCartConfig,
  open: (config) =>
    openCartDependencies(config, {
      onBreakerStateChange: ({ from, to, lastFailure }) =>
        log?.[to === "closed" ? "info" : "warn"](
          { from, to, lastFailure },
          `master-data circuit breaker ${from} → ${to}`,
        ),
    }),
  async createApp(deps, config) {
    const app = await createCartApp(deps, config);
    log = app.log;
    app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
    return app;
  },
  serving: (config) => ({
    message: "cart serving CartService on one port",
    fields: { http: ["1.1", "2"], tls: config.tls !== undefined },
  }),
  stopping: (deps) => ({ masterData: deps.items.stats() }),
});
