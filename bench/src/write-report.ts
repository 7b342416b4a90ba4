import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { chartSpec, renderSvg } from "./chart.js";
import type { Options } from "./cli.js";
import { repoRoot, resultsDir } from "./paths.js";
import { type BenchReport, markdownReport } from "./report.js";

// The run's files: markdown (also on stdout), JSON with every number, and the chart.

export async function writeReport(report: BenchReport, o: Options): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `${o.out}.json`);
  const svgFile = path.join(resultsDir, `${o.out}.svg`);
  const mdFile = path.join(resultsDir, `${o.out}.md`);
  const markdown = markdownReport(report);
  await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(mdFile, `${markdown}\n`);
  // The chart shows one concurrency: 16 when measured, else the middle level.
  const level = o.levels.includes(16) ? 16 : (o.levels[Math.floor(o.levels.length / 2)] ?? 1);
  await writeFile(svgFile, await renderSvg(chartSpec(report, level)));
  process.stdout.write(
    `${markdown}\n\nResults: ${path.relative(repoRoot, jsonFile)}, chart: ${path.relative(repoRoot, svgFile)}\n`,
  );
}
