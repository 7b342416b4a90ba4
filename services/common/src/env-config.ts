/**
 * Reads typed settings from an environment map and collects every problem,
 * so that a misconfigured service fails at start-up with ONE message listing
 * each bad variable, what it got and what it accepts.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

export interface EnvReader {
  string(name: string, fallback: string): string;
  optionalString(name: string): string | undefined;
  int(name: string, fallback: number, min: number, max: number): number;
  bool(name: string, fallback: boolean): boolean;
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T;
  url(name: string, fallback: string, protocols: readonly string[]): URL;
  /** Adds a problem that concerns several variables at once. */
  problem(message: string): void;
  /** Throws ConfigError when any value was bad. */
  done(): void;
}

export function createEnvReader(env: Env): EnvReader {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  return {
    string: (name, fallback) => raw(name) ?? fallback,
    optionalString: (name) => raw(name),
    int(name, fallback, min, max) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
        problems.push(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
        return fallback;
      }
      return n;
    },
    bool(name, fallback) {
      const v = raw(name)?.toLowerCase();
      if (v === undefined) return fallback;
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      problems.push(`${name} must be true or false, got "${v}"`);
      return fallback;
    },
    oneOf(name, fallback, allowed) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const hit = allowed.find((a) => a === v);
      if (hit === undefined) {
        problems.push(`${name} must be one of ${allowed.join(" | ")}, got "${v}"`);
        return fallback;
      }
      return hit;
    },
    url(name, fallback, protocols) {
      const v = raw(name) ?? fallback;
      try {
        const u = new URL(v);
        if (!protocols.includes(u.protocol)) {
          // Like every other bad value: reported once here, the fallback for whatever checks it next.
          problems.push(`${name} must use ${protocols.join(" or ")}, got "${v}"`);
          return new URL(fallback);
        }
        return u;
      } catch {
        problems.push(`${name} must be a URL, got "${v}"`);
        return new URL(fallback);
      }
    },
    problem: (message) => void problems.push(message),
    done() {
      if (problems.length > 0) throw new ConfigError(problems);
    },
  };
}
