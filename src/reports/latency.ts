// The latency-classes report (pure): each engine's measured cold and warm
// p50/p99 (init + run, what a caller waits for the sandbox and the function)
// placed against application latency classes, so a user sees which engine
// suits which workload: real-time ≤ 10 ms, interactive web ≤ 100 ms, batch above.
import { p50p99, type DurationFacts } from './percentiles.ts';

export const LATENCY_CLASSES = [
  { name: 'real-time', maxMs: 10 },
  { name: 'interactive', maxMs: 100 },
  { name: 'batch', maxMs: null },
] as const;

export type LatencyClass = (typeof LATENCY_CLASSES)[number]['name'];

export interface LatencyStats {
  calls: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** The tightest class the p99 fits; null with no calls. */
  class: LatencyClass | null;
}

export interface LatencyReport {
  from: string;
  to: string;
  classes: typeof LATENCY_CLASSES;
  engines: { engine: string; cold: LatencyStats; warm: LatencyStats }[];
  message?: string;
}

/** The tightest class whose bound a latency fits (batch takes anything). */
export function classOf(ms: number): LatencyClass {
  for (const c of LATENCY_CLASSES) if (c.maxMs === null || ms <= c.maxMs) return c.name;
  return 'batch';
}

export function latencyReport(
  calls: readonly DurationFacts[],
  window: { fromMs: number; toMs: number },
): LatencyReport {
  const byEngine = new Map<string, { cold: number[]; warm: number[] }>();
  for (const c of calls) {
    let e = byEngine.get(c.engine);
    if (!e) byEngine.set(c.engine, (e = { cold: [], warm: [] }));
    (c.cold ? e.cold : e.warm).push(c.latencyMs);
  }
  const stats = (values: number[]): LatencyStats => {
    const p = p50p99(values);
    return { calls: values.length, ...p, class: p.p99Ms === null ? null : classOf(p.p99Ms) };
  };
  const engines = [...byEngine.keys()]
    .sort()
    .map((engine) => ({ engine, cold: stats(byEngine.get(engine)!.cold), warm: stats(byEngine.get(engine)!.warm) }));
  const report: LatencyReport = {
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    classes: LATENCY_CLASSES,
    engines,
  };
  if (engines.length === 0)
    report.message =
      'no finished calls were recorded in this window, so no engine can be placed; widen window or invoke a function first';
  return report;
}
