import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { BenchReport } from "./report.js";

/**
 * The transports side by side (vega-lite, rendered to SVG in Node): server CPU per request and
 * req/s for GetItemDetail at one concurrency, and what cart sees of master-data per transport.
 */
export function chartSpec(report: BenchReport, level: number): TopLevelSpec {
  const direct = report.cases
    .filter((r) => r.kind === "direct" && r.ran && r.concurrency === level && r.rpc === "GetItemDetail")
    .map((r) => ({
      target: `${r.server} · ${r.transport}`,
      loadgen: r.loadgen,
      cpu: r.serverCpuUsPerReq ?? 0,
      rps: r.rps,
    }));
  const cart = report.cases
    .filter((r) => r.kind === "cart" && r.ran && r.mode === "closed-loop")
    .flatMap((r) => [
      {
        transport: r.transport,
        metric: "master-data call inside cart, mean ms",
        value: r.cart?.masterData?.windowMeanMs ?? 0,
      },
      { transport: r.transport, metric: "cart AddLineItems p50 ms", value: r.cart?.addLineItems?.p50Ms ?? 0 },
    ]);
  const bars = (field: "cpu" | "rps", title: string) => ({
    title,
    width: 300,
    height: { step: 14 },
    mark: { type: "bar" as const, tooltip: true },
    encoding: {
      y: { field: "target", type: "nominal" as const, title: null, axis: { labelLimit: 400 } },
      yOffset: { field: "loadgen", type: "nominal" as const },
      x: { field, type: "quantitative" as const, title },
      color: {
        field: "loadgen",
        type: "nominal" as const,
        title: "load generator",
        legend: { orient: "bottom" as const, columns: 2, labelLimit: 400 },
      },
    },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `pos-connect transports — ${report.meta.date.slice(0, 10)}, ${report.meta.machine.cores} shared cores, Node ${report.meta.machine.node}`,
      subtitle: `GetItemDetail at concurrency ${level} (server and load generator on the same cores); cart: ${report.meta.settings.cartTerminals} terminals, item cache off`,
    },
    vconcat: [
      {
        data: { values: direct },
        hconcat: [
          bars("cpu", "server CPU µs per request (lower is better)"),
          bars("rps", "requests/s (higher is better)"),
        ],
      },
      {
        data: { values: cart },
        width: 300,
        height: { step: 14 },
        title: "cart end to end, per cart → master-data transport",
        mark: { type: "bar", tooltip: true },
        encoding: {
          y: { field: "transport", type: "nominal", title: null, axis: { labelLimit: 400 } },
          yOffset: { field: "metric", type: "nominal" },
          x: { field: "value", type: "quantitative", title: "ms" },
          color: {
            field: "metric",
            type: "nominal",
            title: null,
            legend: { orient: "bottom", columns: 1, labelLimit: 400 },
          },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
    config: { font: "sans-serif", background: "white" },
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
