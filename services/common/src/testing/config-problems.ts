import { ConfigError } from "../env-config.js";

/** The problems a config reader reports for a bad environment; fails if it accepted the environment. */
export function configProblems(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}
