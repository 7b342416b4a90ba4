import { ConfigError, createHealth, ServingStatus, UnavailableError } from "@pos/common";
import { createMasterDataApp } from "./app.js";
import { readMasterDataConfig } from "./config.js";
import { openItemStore, seedDemoCatalogue } from "./open-store.js";

// The only place that reads process.env and starts things.
async function main(): Promise<void> {
  const config = readMasterDataConfig(process.env);
  const { store, kind } = await openItemStore(config);
  const health = createHealth({
    probes: [{ name: kind, ping: () => store.ping() }],
    onChange: (status, failing) => app.log.warn({ failing }, `health: ${ServingStatus[status]}`),
  });
  const app = await createMasterDataApp(store, { ...config, health });
  app.log.info({ store: kind }, "item store ready");
  if (config.demoCatalogue) {
    const started = performance.now();
    const seeded = await seedDemoCatalogue(store);
    if (seeded !== undefined) {
      app.log.info(
        { ...seeded, ms: Math.round(performance.now() - started) },
        "demo catalogue loaded (DEMO_CATALOGUE=false to skip)",
      );
    }
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    health.shutdown();
    app.log.info({ signal }, "shutting down");
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await health.start();
  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    {
      protocols: ["connect+json", "connect+proto", "grpc", "grpc-web"],
      http: ["1.1", "2"],
      tls: config.tls !== undefined,
    },
    "master-data serving ItemService on one port",
  );
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof UnavailableError) {
    console.error(`master-data: ${e.message}`);
  } else {
    console.error("master-data failed to start:", e);
  }
  process.exit(1);
});
