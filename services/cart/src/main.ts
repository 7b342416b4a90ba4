import { createHealth, createTelemetry, runService, ServingStatus } from "@pos/common";
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
  async open(config) {
    const telemetry = createTelemetry("cart", config.telemetry);
    const deps = await openCartDependencies(config, {
      telemetry,
      onBreakerStateChange: ({ from, to, lastFailure }) =>
        log?.[to === "closed" ? "info" : "warn"](
          { from, to, lastFailure },
          `master-data circuit breaker ${from} → ${to}`,
        ),
      tlsLog: {
        info: (fields, message) => log?.info(fields, message),
        error: (fields, message) => log?.error(fields, message),
      },
      onMasterDataRouteSwitch: ({ to, reason }) =>
        to === "fallback"
          ? log?.warn({ to, reason }, "master-data calls switched to the fallback transport")
          : log?.info({ to }, "master-data calls back on the primary transport"),
    });
    // Ready while both stores answer; master-data is not one of them (see README: health).
    const health = createHealth({
      probes: [
        { name: `carts: ${deps.describe.carts}`, ping: () => deps.carts.ping() },
        { name: `transactions: ${deps.describe.transactions}`, ping: () => deps.transactions.ping() },
      ],
    });
    const close = async () => {
      await deps.close();
      await telemetry.tracing.shutdown();
    };
    return { ...deps, health, telemetry, close };
  },
  async createApp(deps, config) {
    const app = await createCartApp(deps, { ...config, ...deps.telemetry, health: deps.health });
    log = app.log;
    deps.health.subscribe((status, failing) =>
      app.log[status === ServingStatus.SERVING ? "info" : "warn"]({ failing }, `health: ${ServingStatus[status]}`),
    );
    app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
    await deps.health.start();
    return app;
  },
  onStop: (deps) => deps.health.shutdown(),
  serving: (config) => ({
    message: "cart serving CartService on one port",
    fields: {
      http: ["1.1", "2"],
      tls: config.tls === undefined ? false : { clientCertificates: config.tls.clientAuth },
    },
  }),
  stopping: (deps) => ({ masterData: deps.items.stats() }),
});
