// What a pool needs to scale on its own: the autoscaler's settings with how
// often to apply them, and the learned keep-alive's idle-time histogram. The
// invoker builds them from the function config and the platform options.
import type { NimbusConfig } from '../../config/options.ts';
import type { FunctionConfig } from '../../storage/store.ts';
import type { IdleHistogram } from '../keepalive/hybrid-policy.ts';
import type { AutoscaleSettings } from './autoscaler.ts';

export interface PoolScaling {
  autoscale: AutoscaleSettings & { intervalMs: number };
  /** The function's idle times when its keep-alive is adaptive; absent when it is fixed. */
  idleTimes?: IdleHistogram;
  /** Told each time a decision starts (up) or removes (down) sandboxes, and whether the panic window made it (metrics). */
  onScale?: (direction: 'up' | 'down', panic: boolean) => void;
}

export function poolScaling(
  fn: FunctionConfig,
  concurrency: number,
  minSandboxes: number,
  config: NimbusConfig,
  idleTimes: () => IdleHistogram,
  onScale?: PoolScaling['onScale'],
): PoolScaling {
  return {
    autoscale: {
      // An engine that runs one call per sandbox aims for one, whatever the config says.
      targetConcurrency: Math.min(fn.targetConcurrency ?? concurrency, concurrency),
      stableWindowMs: config.autoscaleStableWindowMs,
      panicWindowMs: config.autoscalePanicWindowMs,
      intervalMs: config.autoscaleIntervalMs,
      minSandboxes,
      maxSandboxes: fn.maxSandboxes,
    },
    ...(fn.keepAlive === undefined ? { idleTimes: idleTimes() } : {}),
    ...(onScale ? { onScale } : {}),
  };
}
