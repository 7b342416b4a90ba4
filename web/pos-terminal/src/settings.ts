/** How a terminal calls cart. Defaults come from the server's /config.json; the cashier's changes stay in this browser. */
export type CartProtocol = "connect-json" | "connect-binary" | "grpc-web";

export interface TerminalSettings {
  cartUrl: string;
  protocol: CartProtocol;
  tenantId: string;
  storeCode: string;
  terminalId: string;
  staffId: string;
  /** The terminal's key once cart authenticates terminals; "" = none. Entered on the terminal, never shipped in the page. */
  apiKey: string;
}

export const protocols: readonly CartProtocol[] = ["connect-json", "connect-binary", "grpc-web"];

const storageKey = "pos-terminal.settings";

const builtIn: TerminalSettings = {
  cartUrl: `${location.protocol}//${location.hostname}:8003`,
  protocol: "connect-json",
  tenantId: "T0001",
  storeCode: "S0001",
  terminalId: "R01",
  staffId: "STAFF1",
  apiKey: "",
};

/** Built-in defaults < the site's /config.json < what this browser saved. */
export async function loadSettings(): Promise<TerminalSettings> {
  let site: Partial<TerminalSettings> = {};
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (res.ok) site = pick(await res.json());
  } catch {
    // No config.json (e.g. `vite dev`): the built-in defaults apply.
  }
  let saved: Partial<TerminalSettings> = {};
  try {
    saved = pick(JSON.parse(localStorage.getItem(storageKey) ?? "{}"));
  } catch {
    localStorage.removeItem(storageKey);
  }
  return { ...builtIn, ...site, ...saved };
}

export function saveSettings(settings: TerminalSettings): void {
  localStorage.setItem(storageKey, JSON.stringify(settings));
}

function pick(value: unknown): Partial<TerminalSettings> {
  if (typeof value !== "object" || value === null) return {};
  const out: Partial<TerminalSettings> = {};
  const v = value as Record<string, unknown>;
  for (const key of ["cartUrl", "tenantId", "storeCode", "terminalId", "staffId", "apiKey"] as const) {
    if (typeof v[key] === "string") out[key] = v[key];
  }
  if (protocols.includes(v.protocol as CartProtocol)) out.protocol = v.protocol as CartProtocol;
  return out;
}
