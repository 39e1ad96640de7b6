// Percentiles and the duration a record shows, shared by the metrics and the
// latency-classes reports (pure, no I/O).
import type { ActivationRecord } from '../storage/store.ts';

/** One call that ran code and ended, as the metrics need it. */
export interface DurationFacts {
  engine: string;
  startMs: number;
  /** The function's run time (runMs, else end − start), ms. */
  runMs: number;
  /** What the caller waited for the sandbox and the run: init + run, ms (init is 0 when warm). */
  latencyMs: number;
  cold: boolean;
}

/** A record's facts, or undefined for one that ran no code (a sequence's parent) or has not ended. */
export function durationOf(r: ActivationRecord): DurationFacts | undefined {
  if (r.engine === 'sequence' || !r.startedAt || !r.endedAt) return undefined;
  const startMs = Date.parse(r.startedAt);
  const endMs = Date.parse(r.endedAt);
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) return undefined;
  const runMs = r.runMs ?? Math.max(0, endMs - startMs);
  return { engine: r.engine, startMs, runMs, latencyMs: runMs + (r.initMs ?? 0), cold: r.cold === true };
}

/**
 * The p-th percentile (0 < p ≤ 100) by nearest rank: the smallest value with at
 * least p% of the values at or below it, so it is always a measured value. null
 * for no values. `sorted` must be ascending.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/** p50 and p99 of unsorted values. */
export function p50p99(values: readonly number[]): { p50Ms: number | null; p99Ms: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}
