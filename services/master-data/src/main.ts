import { runService } from "@pos/common";
import { createMasterDataApp } from "./app.js";
import { readMasterDataConfig } from "./config.js";
import { openItemStore, seedDemoCatalogue } from "./open-store.js";

// The only place that reads process.env and starts things (start-up, signals, shutdown: run-service.ts).
await runService({
  name: "master-data",
  readConfig: readMasterDataConfig,
  open: openItemStore,
  async createApp(opened, config) {
    const app = await createMasterDataApp(opened.store, config);
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
    return app;
  },
  serving: (config) => ({
    message: "master-data serving ItemService on one port",
    fields: {
      protocols: ["connect+json", "connect+proto", "grpc", "grpc-web"],
      http: ["1.1", "2"],
      tls: config.tls !== undefined,
    },
  }),
});
