import { createHealth, createTelemetry, runService, ServingStatus } from "@pos/common";
import { createMasterDataApp } from "./app.js";
import { masterDataRequestBudgetMs, readMasterDataConfig } from "./config.js";
import { openItemStore, seedDemoCatalogue } from "./open-store.js";

// The only place that reads process.env and starts things (start-up, signals, shutdown: run-service.ts).
await runService({
  name: "master-data",
  readConfig: readMasterDataConfig,
  requestBudgetMs: masterDataRequestBudgetMs,
  async open(config) {
    const telemetry = createTelemetry("master-data", config.telemetry);
    const opened = await openItemStore(config);
    // Store calls as child spans of the RPC (when tracing is on).
    const store = telemetry.tracing.traceMethods(opened.store, "ItemStore", { "db.system": opened.kind });
    // Ready while the item store answers.
    const health = createHealth({ probes: [{ name: opened.kind, ping: () => opened.store.ping() }] });
    const close = async () => {
      await opened.close();
      await telemetry.tracing.shutdown();
    };
    return { ...opened, store, health, telemetry, close };
  },
  async createApp(opened, config, { closeGraceMs }) {
    const app = await createMasterDataApp(opened.store, {
      ...config,
      ...opened.telemetry,
      health: opened.health,
      closeGraceMs,
    });
    opened.health.subscribe((status, failing) =>
      app.log[status === ServingStatus.SERVING ? "info" : "warn"]({ failing }, `health: ${ServingStatus[status]}`),
    );
    app.log.info({ store: opened.kind }, "item store ready");
    if (config.demoCatalogue) {
      const started = performance.now();
      const seeded = await seedDemoCatalogue(opened.store);
      if (seeded !== undefined) {
        app.log.info(
          { ...seeded, ms: Math.round(performance.now() - started) },
          "demo catalogue loaded (DEMO_CATALOGUE=false to skip)",
        );
      }
    }
    await opened.health.start();
    return app;
  },
  onStop: (opened) => opened.health.shutdown(),
  serving: (config) => ({
    message: "master-data serving ItemService on one port",
    fields: {
      protocols: ["connect+json", "connect+proto", "grpc", "grpc-web"],
      http: ["1.1", "2"],
      tls: config.tls === undefined ? false : { clientCertificates: config.tls.clientAuth },
    },
  }),
});
