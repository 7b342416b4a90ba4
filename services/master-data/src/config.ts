import { createEnvReader, type Env, readMongoSettings, readServerSettings, type ServerSettings } from "@pos/common";

export interface MasterDataConfig extends ServerSettings {
  /** Unset: the embedded in-memory store. */
  mongodbUri: string | undefined;
  /** Bound for every MongoDB operation, incl. connecting. */
  mongodbTimeoutMs: number;
  demoCatalogue: boolean;
}

export function readMasterDataConfig(env: Env): MasterDataConfig {
  const r = createEnvReader(env);
  const config: MasterDataConfig = {
    ...readServerSettings(r, "MASTER_DATA_PORT", 8002),
    ...readMongoSettings(r),
    demoCatalogue: r.bool("DEMO_CATALOGUE", true),
  };
  r.done();
  return config;
}

/** The longest one call may take with MongoDB slow: a handler makes up to four store operations, each bounded. */
export function masterDataRequestBudgetMs(config: MasterDataConfig): number {
  return config.mongodbUri === undefined ? 0 : 4 * config.mongodbTimeoutMs;
}
