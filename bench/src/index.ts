// The public surface of @pos/bench: the shape of a run's results (results/*.json) and how a report is
// written from them. The run itself is `bash bench/run.sh` (src/main.ts).
export { chartSpec, renderSvg } from "./chart.js";
export { type BenchReport, markdownReport, type RunMeta } from "./report.js";
export { type CartExtras, type CaseResult, compareWithBaselines, failedCases, type Ratios } from "./results.js";
export { type LatencySummary, percentile, summarizeLatencies } from "./stats.js";
