// What an invoker reports at each /metrics scrape: its sandboxes (busy or
// idle, by engine), its platform-wide caps and their use, and the
// autoscaler's desired count per function. Polled, not counted, so a scrape
// sees the pools as they are.
import type { Metrics } from '../shared/metrics.ts';
import type { Capacity } from './capacity.ts';
import type { FunctionPool } from './pool.ts';
import { parsePoolKey } from './pool-key.ts';

export interface GaugedPools {
  /** Pools that take calls (a pinned older version's too). */
  serving(): Iterable<FunctionPool>;
  /** Pools that take calls and pools draining: both hold sandboxes. */
  all(): Iterable<FunctionPool>;
  capacity: Capacity;
}

/** Adds this invoker to the scrape's sources; returns what takes it off again. */
export function gaugeInvoker(metrics: Metrics, pools: GaugedPools): () => void {
  const sandboxes = (g: Metrics['sandboxes']): void => {
    for (const pool of pools.all())
      for (const s of pool.sandboxes()) g.inc({ engine: s.sandbox.engine, state: s.inflight > 0 ? 'busy' : 'idle' });
  };
  // Desired counts per function: its pools that take calls, summed.
  const desired = (g: Metrics['autoscalerDesired']): void => {
    for (const pool of pools.serving()) {
      const n = pool.desiredSandboxes;
      if (n !== undefined) g.inc({ function: parsePoolKey(pool.key).name }, n);
    }
  };
  const capacity = (g: Metrics['capacity']): void => {
    const u = pools.capacity.usage();
    g.set({ resource: 'sandboxes', measure: 'limit' }, u.maxSandboxesTotal);
    g.set({ resource: 'sandboxes', measure: 'admitted' }, u.sandboxes);
    g.set({ resource: 'memory_mb', measure: 'limit' }, u.sandboxMemoryTotalMb);
    g.set({ resource: 'memory_mb', measure: 'admitted' }, u.memoryMb);
  };
  metrics.sandboxSources.add(sandboxes);
  metrics.capacitySources.add(capacity);
  metrics.autoscalerSources.add(desired);
  return () => {
    metrics.sandboxSources.delete(sandboxes);
    metrics.capacitySources.delete(capacity);
    metrics.autoscalerSources.delete(desired);
  };
}
