import { createHealth, createTelemetry, runService, ServingStatus } from "@pos/common";
import type { FastifyBaseLogger } from "fastify";
import { createCartApp } from "./app.js";
import { cartRequestBudgetMs, readCartConfig } from "./config.js";
import { openCartDependencies } from "./wiring.js";

// The log exists once the app does; the breaker cannot change state before the first call anyway.
let log: FastifyBaseLogger | undefined;

// The only place that reads process.env and starts things (start-up, signals, shutdown: run-service.ts).
await runService({
  name: "cart",
  readConfig: readCartConfig,
  requestBudgetMs: cartRequestBudgetMs,
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
        { name: "cart store", ping: () => deps.carts.ping() },
        { name: "transaction log", ping: () => deps.transactions.ping() },
      ],
    });
    const close = async () => {
      await deps.close();
      await telemetry.tracing.shutdown();
    };
    return { ...deps, health, telemetry, close };
  },
  async createApp(deps, config, { closeGraceMs }) {
    const app = await createCartApp(deps, { ...config, ...deps.telemetry, health: deps.health, closeGraceMs });
    log = app.log;
    deps.health.subscribe((status, failing) =>
      app.log[status === ServingStatus.SERVING ? "info" : "warn"]({ failing }, `health: ${ServingStatus[status]}`),
    );
    app.log.info(deps.describe, `cart dependencies ready; master-data via ${deps.describe.masterData}`);
    for (const notice of deps.notices) app.log[notice.level === "ok" ? "info" : "warn"](notice.message);
    await deps.health.start();
    // Records that Bill/CancelCart could not write (here or in a process that died) are written from now on.
    deps.records.start(app.log);
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
