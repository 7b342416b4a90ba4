import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// V8's parser pretenures a function literal assigned to a property (`obj.f = () => …`,
// `this.f = function …`): every closure made there is allocated in old space. On a per-call path
// that closure keeps its context, and with it the call, alive through every scavenge until the next
// full GC: master-data's scavenges kept ~5 MB each and paused ~11 ms for one such line in
// unary-call.ts (~5 KB and ~0.9 ms without; 2026-12-06). Assign a named function, a method or a
// local const instead. This scans the services' sources (tests and test helpers aside).
//
// The same happens one step removed with an EventTarget listener that is an object with a
// `handleEvent` method: Node's EventTarget wraps such an object in an arrow function assigned to a
// property (internal/event_target.js, class Listener), so the object, and all it holds, lives until
// the next full GC. Cart's HTTP/1.1 sender used one per master-data call: cart's scavenges kept
// ~2.6 MB each instead of ~1.8 MB (decision record 0004, point 9). Pass a function.

const servicesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const propertyClosure =
  /(?:[\w$\])]|^)\s*(?:\.[\w$#]+|\[[^\]\n]+\])\s*=\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*(?::[^=\n]+)?=>|[\w$]+\s*=>)/;

const objectListener = /^\s*(?:async\s+)?handleEvent\s*\(/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return ["node_modules", "dist", "dist-a", "testing"].includes(entry.name) ? [] : sources(full);
    }
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")
      ? [full]
      : [];
  });
}

describe("closures assigned to properties", () => {
  it("the pattern is recognised", () => {
    expect(propertyClosure.test("    this.timeoutMs = () => call.timeoutMs();")).toBe(true);
    expect(propertyClosure.test("  req.oncomplete = function (err) {")).toBe(true);
    expect(propertyClosure.test("  state[kDone] = async (x) => x;")).toBe(true);
    expect(propertyClosure.test("  stream.onwrite = (er: Error) => done(er);")).toBe(true);
    expect(propertyClosure.test("  const wake = () => resolve();")).toBe(false);
    expect(propertyClosure.test("  this.timer = setTimeout(expire, left);")).toBe(false);
    expect(propertyClosure.test("  this.onwrite = onWrite;")).toBe(false);
  });

  it("the object-listener pattern is recognised", () => {
    expect(objectListener.test("  handleEvent(): void {")).toBe(true);
    expect(objectListener.test("  async handleEvent(event: Event) {")).toBe(true);
    expect(objectListener.test('    signal.addEventListener("abort", onAbort, { once: true });')).toBe(false);
  });

  it("no service source assigns a function literal to a property", () => {
    expect(matching(propertyClosure)).toEqual([]);
  });

  it("no service source listens with a handleEvent object", () => {
    expect(matching(objectListener)).toEqual([]);
  });
});

/** Lines of the services' sources (comments aside) that match `pattern`, as file:line: text. */
function matching(pattern: RegExp): string[] {
  const files = ["common", "cart", "master-data"].flatMap((s) => sources(path.join(servicesDir, s, "src")));
  expect(files.length).toBeGreaterThan(50);
  const found: string[] = [];
  for (const file of files) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (!line.trimStart().startsWith("//") && !line.trimStart().startsWith("*") && pattern.test(line))
          found.push(`${path.relative(servicesDir, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}
