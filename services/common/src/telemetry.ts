import type { Registry } from "prom-client";
import { createMetricsRegistry } from "./metrics.js";
import type { ServerSettings } from "./server-config.js";
import { createTracing, type Tracing, tracingOff } from "./tracing.js";

/** What a service measures: a Prometheus registry (undefined with METRICS=false) and tracing (a no-op when off). */
export interface Telemetry {
  metrics: Registry | undefined;
  tracing: Tracing;
}

export const noTelemetry: Telemetry = { metrics: undefined, tracing: tracingOff };

export function createTelemetry(serviceName: string, settings: ServerSettings["telemetry"]): Telemetry {
  return {
    metrics: settings.metrics ? createMetricsRegistry() : undefined,
    tracing: createTracing(serviceName, settings.tracing),
  };
}
