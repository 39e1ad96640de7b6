// The metrics report's arithmetic (pure): per engine and per step of a window,
// invocations per second, p50/p99 run duration and the share of cold starts,
// from the platform's own activation records (no Prometheus server). The
// columns line up with `steps` so a chart draws them as they are.
import { p50p99, type DurationFacts } from './percentiles.ts';

export interface MetricsColumns {
  calls: number[];
  perSecond: number[];
  /** null where the step had no call. */
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
  coldShare: (number | null)[];
}

export interface EngineMetrics {
  engine: string;
  totals: {
    calls: number;
    coldStarts: number;
    perSecond: number;
    p50Ms: number | null;
    p99Ms: number | null;
    coldShare: number | null;
  };
  steps: MetricsColumns;
}

export interface MetricsReport {
  from: string;
  to: string;
  stepMs: number;
  /** The ISO start of each step; every engine's columns have one value per step. */
  steps: string[];
  engines: EngineMetrics[];
  message?: string;
}

/** The report of calls started in [fromMs, toMs), in steps of stepMs (the last may be shorter). */
export function metricsReport(
  calls: readonly DurationFacts[],
  window: { fromMs: number; toMs: number; stepMs: number },
): MetricsReport {
  const { fromMs, toMs, stepMs } = window;
  const starts: number[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) starts.push(t);
  const spanSec = (i: number) => (Math.min(toMs, starts[i]! + stepMs) - starts[i]!) / 1000;

  const byEngine = new Map<string, DurationFacts[][]>();
  for (const c of calls) {
    if (c.startMs < fromMs || c.startMs >= toMs) continue;
    let cells = byEngine.get(c.engine);
    if (!cells) byEngine.set(c.engine, (cells = starts.map(() => [])));
    cells[Math.floor((c.startMs - fromMs) / stepMs)]!.push(c);
  }
  const engines = [...byEngine.keys()].sort().map((engine): EngineMetrics => {
    const cells = byEngine.get(engine)!;
    const all = cells.flat();
    const cold = all.filter((c) => c.cold).length;
    const steps: MetricsColumns = { calls: [], perSecond: [], p50Ms: [], p99Ms: [], coldShare: [] };
    cells.forEach((cell, i) => {
      const { p50Ms, p99Ms } = p50p99(cell.map((c) => c.runMs));
      steps.calls.push(cell.length);
      steps.perSecond.push(round(cell.length / spanSec(i)));
      steps.p50Ms.push(p50Ms);
      steps.p99Ms.push(p99Ms);
      steps.coldShare.push(cell.length ? round(cell.filter((c) => c.cold).length / cell.length) : null);
    });
    return {
      engine,
      totals: {
        calls: all.length,
        coldStarts: cold,
        perSecond: round(all.length / ((toMs - fromMs) / 1000)),
        ...p50p99(all.map((c) => c.runMs)),
        coldShare: all.length ? round(cold / all.length) : null,
      },
      steps,
    };
  });
  const report: MetricsReport = {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    stepMs,
    steps: starts.map((t) => new Date(t).toISOString()),
    engines,
  };
  if (engines.length === 0)
    report.message =
      'no finished calls were recorded in this window, so there are no rates or durations; widen window or invoke a function first';
  return report;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
