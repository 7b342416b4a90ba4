import { describe, expect, it } from "vitest";
import { ConfigError, createEnvReader, type Env } from "./env-config.js";

function problemsOf(env: Env, read: (r: ReturnType<typeof createEnvReader>) => void): readonly string[] {
  const r = createEnvReader(env);
  read(r);
  try {
    r.done();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

describe("env reader", () => {
  it("falls back to the defaults for unset and blank variables, and trims what is set", () => {
    const r = createEnvReader({ BLANK: "  ", NAME: "  cart  " });
    expect(r.string("UNSET", "dflt")).toBe("dflt");
    expect(r.string("BLANK", "dflt")).toBe("dflt");
    expect(r.string("NAME", "dflt")).toBe("cart");
    expect(r.optionalString("BLANK")).toBeUndefined();
    expect(r.int("UNSET", 7, 0, 10)).toBe(7);
    expect(r.bool("UNSET", true)).toBe(true);
    expect(r.oneOf("UNSET", "grpc", ["grpc", "connect"])).toBe("grpc");
    expect(r.url("UNSET", "http://127.0.0.1:8002", ["http:"]).href).toBe("http://127.0.0.1:8002/");
    expect(() => r.done()).not.toThrow();
  });

  it("reads whole numbers within bounds, booleans in their usual spellings, and listed values", () => {
    const r = createEnvReader({ N: "-3", B1: "YES", B0: "off", P: "connect", U: "https://md.example:443/x" });
    expect(r.int("N", 0, -5, 5)).toBe(-3);
    expect(r.bool("B1", false)).toBe(true);
    expect(r.bool("B0", true)).toBe(false);
    expect(r.oneOf("P", "grpc", ["grpc", "connect"])).toBe("connect");
    expect(r.url("U", "http://x", ["http:", "https:"]).host).toBe("md.example");
    expect(() => r.done()).not.toThrow();
  });

  it("names every bad value in ONE error: variable, what it got, what it accepts", () => {
    const problems = problemsOf(
      {
        N1: "12.5",
        N2: "1e3",
        N3: "11",
        N4: "9007199254740993",
        B: "maybe",
        P: "soap",
        U1: "not a url",
        U2: "ftp://x",
      },
      (r) => {
        r.int("N1", 0, 0, 10);
        r.int("N2", 0, 0, 10_000);
        r.int("N3", 0, 0, 10);
        r.int("N4", 0, 0, Number.MAX_SAFE_INTEGER);
        r.bool("B", false);
        r.oneOf("P", "grpc", ["grpc", "connect"]);
        r.url("U1", "http://x", ["http:"]);
        r.url("U2", "http://x", ["http:", "https:"]);
        r.problem("A and B must be set together");
      },
    );
    expect(problems).toEqual([
      'N1 must be a whole number from 0 to 10, got "12.5"',
      'N2 must be a whole number from 0 to 10000, got "1e3"',
      'N3 must be a whole number from 0 to 10, got "11"',
      `N4 must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got "9007199254740993"`,
      'B must be true or false, got "maybe"',
      'P must be one of grpc | connect, got "soap"',
      'U1 must be a URL, got "not a url"',
      'U2 must use http: or https:, got "ftp://x"',
      "A and B must be set together",
    ]);
  });

  it("words the message as a list, one line per problem", () => {
    const error = new ConfigError(["A is bad", "B is bad"]);
    expect(error.message).toBe("invalid configuration:\n  - A is bad\n  - B is bad");
    expect(error.name).toBe("ConfigError");
  });
});
