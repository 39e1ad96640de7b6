// The Prometheus metrics nimbus exports, one registry per platform instance
// (so several platforms can live in one test process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  invocations: Counter<'function' | 'status' | 'cold' | 'engine'>;
  duration: Histogram<'function' | 'engine'>;
  coldStart: Histogram<'engine'>;
  sandboxes: Gauge<'engine' | 'state'>;
  /** Sources of the sandboxes gauge, polled at each scrape. */
  sandboxSources: Set<(gauge: Gauge<'engine' | 'state'>) => void>;
  /** The invoker's platform-wide caps and their use: resource sandboxes|memory_mb, measure limit|admitted. */
  capacity: Gauge<'resource' | 'measure'>;
  capacitySources: Set<(gauge: Gauge<'resource' | 'measure'>) => void>;
  /** The autoscaler's desired sandbox count per function (its pools that take calls, summed), polled at each scrape. */
  autoscalerDesired: Gauge<'function'>;
  autoscalerSources: Set<(gauge: Gauge<'function'>) => void>;
  /** The autoscaler's decisions that changed a pool: direction up|down, window stable|panic. */
  autoscalerDecisions: Counter<'function' | 'direction' | 'window'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const sandboxSources = new Set<(gauge: Gauge<'engine' | 'state'>) => void>();
  const capacitySources = new Set<(gauge: Gauge<'resource' | 'measure'>) => void>();
  const autoscalerSources = new Set<(gauge: Gauge<'function'>) => void>();
  collectDefaultMetrics({ register: registry, prefix: 'nimbus_process_' });
  return {
    registry,
    invocations: new Counter({
      name: 'nimbus_invocations_total',
      help: 'Invocations by function, final status, cold or warm start, and engine',
      labelNames: ['function', 'status', 'cold', 'engine'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'nimbus_invocation_duration_seconds',
      help: 'Time a function ran, per invocation',
      labelNames: ['function', 'engine'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
    coldStart: new Histogram({
      name: 'nimbus_cold_start_seconds',
      help: 'Time to create a sandbox and load the function',
      labelNames: ['engine'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    sandboxes: new Gauge({
      name: 'nimbus_sandboxes',
      help: 'Sandboxes by engine and state (busy, idle)',
      labelNames: ['engine', 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const source of sandboxSources) source(this);
      },
    }),
    sandboxSources,
    capacity: new Gauge({
      name: 'nimbus_sandbox_capacity',
      help: 'Platform-wide sandbox caps (measure=limit) and what is admitted against them (measure=admitted), for resource sandboxes and memory_mb',
      labelNames: ['resource', 'measure'],
      registers: [registry],
      collect() {
        this.reset();
        for (const source of capacitySources) source(this);
      },
    }),
    capacitySources,
    autoscalerDesired: new Gauge({
      name: 'nimbus_autoscaler_desired_sandboxes',
      help: 'Sandboxes the autoscaler wants per function on this invoker (its last decision, within minSandboxes..maxSandboxes)',
      labelNames: ['function'],
      registers: [registry],
      collect() {
        this.reset();
        for (const source of autoscalerSources) source(this);
      },
    }),
    autoscalerSources,
    autoscalerDecisions: new Counter({
      name: 'nimbus_autoscaler_decisions_total',
      help: 'Autoscaler decisions that started (up) or removed (down) sandboxes, by the window that decided (stable, panic)',
      labelNames: ['function', 'direction', 'window'],
      registers: [registry],
    }),
  };
}
