import { describe, expect, it } from "vitest";
import { createHealth, ServingStatus } from "./health.js";

// What the service's log hears from health: each change of the status and of which store fails,
// once each, never a line per probe run.

describe("health subscribers", () => {
  it("hear each store going down and coming back once, not every probe run", async () => {
    const down = new Set<string>();
    const probe = (name: string) => ({
      name,
      ping: async () => {
        if (down.has(name)) throw new Error(`${name} down`);
      },
    });
    const health = createHealth({ probes: [probe("cart store"), probe("transaction log")] });
    const heard: string[] = [];
    health.subscribe((status, failing) => heard.push(`${ServingStatus[status]} [${failing.join(", ")}]`));
    await health.refresh();
    down.add("cart store");
    await health.refresh();
    await health.refresh();
    down.add("transaction log");
    await health.refresh();
    down.delete("cart store");
    await health.refresh();
    await health.refresh();
    down.delete("transaction log");
    await health.refresh();
    expect(heard).toEqual([
      "SERVING []",
      "NOT_SERVING [cart store]",
      "NOT_SERVING [cart store, transaction log]",
      "NOT_SERVING [transaction log]",
      "SERVING []",
    ]);
    health.shutdown();
  });
});
