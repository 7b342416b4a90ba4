// Bench only (bench:auth): master-data's app as main.ts builds it (demo catalogue, in-memory store,
// the same config, telemetry and auth from the environment), except that with BENCH_OPEN_POLICY=1
// every method's policy is "open": the interceptor still runs and looks the method up, but proves
// no one. That is the "without authentication" row; the services themselves have no such switch.
import { createTelemetry, type MethodPolicy, openServerAuth, policyTable } from "@pos/common";
import { createMasterDataApp, createMemoryItemStore, readMasterDataConfig, seedDemoCatalogue } from "@pos/master-data";

const config = readMasterDataConfig(process.env);
const store = createMemoryItemStore();
await seedDemoCatalogue(store);
const auth = await openServerAuth(config.auth);
const open = process.env.BENCH_OPEN_POLICY === "1";
const app = await createMasterDataApp(store, {
  ...config,
  ...createTelemetry("master-data", config.telemetry),
  auth: open
    ? {
        authenticator: auth.authenticator,
        policy: new Map([...policyTable.keys()].map((m) => [m, { open: true } as MethodPolicy])),
      }
    : auth,
});
await app.listen({ host: config.host, port: config.port });
process.once("SIGTERM", () => {
  void app.close().then(() => process.exit(0));
});
