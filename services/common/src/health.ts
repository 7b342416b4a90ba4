import { Code, type ServiceImpl } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus, type Health as HealthService } from "@pos/gen/health/v1/health_pb.js";
import { errorWithReason } from "./errors.js";
import { quote } from "./field-checks.js";

export const ServingStatus = HealthCheckResponse_ServingStatus;
export type ServingStatus = HealthCheckResponse_ServingStatus;

/** Something the process cannot serve without (MongoDB, Redis): ping() rejects while it is unreachable. */
export interface Probe {
  name: string;
  ping(): Promise<void>;
}

export interface HealthOptions {
  probes?: Probe[];
  /** How often the probes run while serving. */
  intervalMs?: number;
  /** A ping slower than this counts as a failure. */
  timeoutMs?: number;
}

/**
 * The process's serving status, one for all its services: every service here
 * needs the same stores. SERVING while every probe answers; NOT_SERVING while
 * any does not, and for good once shutdown() is called.
 */
export interface Health {
  /** Services (fully qualified names) that Check and Watch know, besides "" (the whole server). */
  addServices(names: readonly string[]): void;
  /** The status of a service, "" for the whole server; undefined for a service not served here. */
  status(service: string): ServingStatus | undefined;
  /** Every known service and its status ("" included). */
  list(): Map<string, ServingStatus>;
  /** The current status of `service`, then each change, until the signal aborts. */
  watch(service: string, signal: AbortSignal): AsyncIterable<ServingStatus>;
  /** Tells `listener` of every change of the status (the service logs them). */
  subscribe(listener: (status: ServingStatus, failing: readonly string[]) => void): void;
  /** Probes that failed on their last run. */
  failing(): readonly string[];
  /** Runs every probe now and updates the status; start() runs it, then repeats it every intervalMs. */
  refresh(): Promise<void>;
  start(): Promise<void>;
  /** NOT_SERVING from now on (shutdown has begun); probing stops. */
  shutdown(): void;
}

export function createHealth(options: HealthOptions = {}): Health {
  const probes = options.probes ?? [];
  const intervalMs = options.intervalMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 1_500;
  const services = new Set<string>([""]);
  const listeners = new Set<() => void>();
  const subscribers: ((status: ServingStatus, failing: readonly string[]) => void)[] = [];
  let failing: readonly string[] = [];
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Until the first probe run: a process that has not checked its stores is not ready.
  let overall: ServingStatus = probes.length === 0 ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;

  // Subscribers (the service's log) hear of each change of the status and of which store fails,
  // once: a store going down while another already is, or coming back, is a line of its own.
  const set = (next: ServingStatus, nowFailing: readonly string[]) => {
    const failingChanged = nowFailing.length !== failing.length || nowFailing.some((n, i) => n !== failing[i]);
    failing = nowFailing;
    if (next === overall && !failingChanged) return;
    const statusChanged = next !== overall;
    overall = next;
    for (const s of subscribers) s(next, nowFailing);
    if (statusChanged) for (const l of listeners) l();
  };

  async function pingOnce(probe: Probe): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([
        probe.ping().then(
          () => true,
          () => false,
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function refresh(): Promise<void> {
    const results = await Promise.all(probes.map(async (p) => ((await pingOnce(p)) ? undefined : p.name)));
    if (stopped) return;
    const nowFailing = results.filter((n): n is string => n !== undefined);
    set(nowFailing.length === 0 ? ServingStatus.SERVING : ServingStatus.NOT_SERVING, nowFailing);
  }

  function schedule(): void {
    if (stopped || probes.length === 0) return;
    timer = setTimeout(() => void refresh().finally(schedule), intervalMs);
    timer.unref();
  }

  return {
    addServices(names) {
      for (const n of names) services.add(n);
    },
    status: (service) => (services.has(service) ? overall : undefined),
    list: () => new Map([...services].map((s) => [s, overall])),
    failing: () => failing,
    subscribe: (listener) => void subscribers.push(listener),
    refresh,
    async start() {
      await refresh();
      schedule();
    },
    shutdown() {
      clearTimeout(timer);
      set(ServingStatus.NOT_SERVING, failing);
      stopped = true;
    },
    async *watch(service, signal) {
      let changed: (() => void) | undefined;
      const wake = () => changed?.();
      listeners.add(wake);
      signal.addEventListener("abort", wake, { once: true });
      try {
        let last: ServingStatus | undefined;
        while (!signal.aborted) {
          const now = services.has(service) ? overall : ServingStatus.SERVICE_UNKNOWN;
          if (now !== last) {
            last = now;
            yield now;
            continue;
          }
          await new Promise<void>((resolve) => {
            changed = resolve;
          });
        }
      } finally {
        listeners.delete(wake);
        signal.removeEventListener("abort", wake);
      }
    },
  };
}

/** grpc.health.v1.Health on a Health: Check, Watch (streams changes) and List. */
export function createHealthService(health: Health): ServiceImpl<typeof HealthService> {
  return {
    check(req) {
      const status = health.status(req.service);
      if (status === undefined)
        throw errorWithReason(Code.NotFound, "SERVICE_UNKNOWN", `service ${quote(req.service)} is not served here`);
      return { status };
    },
    async *watch(req, ctx) {
      for await (const status of health.watch(req.service, ctx.signal)) yield { status };
    },
    list() {
      return { statuses: Object.fromEntries([...health.list()].map(([name, status]) => [name, { status }])) };
    },
  };
}
