// The autoscaler's decision for one pool, after Knative's KPA: the observed
// concurrency (calls running plus calls waiting, averaged over time) over a
// stable window and a short panic window gives a desired sandbox count,
// ceil(observed / (targetConcurrency × TARGET_UTILIZATION)). When the panic
// window asks for at least twice what the pool holds, the pool panics: it
// follows the panic window and never scales down until the stable window
// calms. Pure: the pool reports concurrency changes and asks for a decision;
// the clock is injected so that tests step time instead of sleeping.
import { WindowedAverage } from './window.ts';

/**
 * The share of targetConcurrency the autoscaler aims to fill (Knative's
 * container-concurrency-target-percentage, 70%): the spare room lets a
 * rising load find a warm sandbox instead of waiting for a cold start.
 */
export const TARGET_UTILIZATION = 0.7;

export interface AutoscaleSettings {
  /** Calls per sandbox the autoscaler aims for (function config; default its concurrency). */
  targetConcurrency: number;
  stableWindowMs: number;
  panicWindowMs: number;
  minSandboxes: number;
  maxSandboxes: number;
}

export interface ScaleDecision {
  /** Sandboxes the pool should hold now, within minSandboxes..maxSandboxes. */
  desired: number;
  panic: boolean;
  /** The stable and panic windows' average concurrency (for docs and tests). */
  stableConcurrency: number;
  panicConcurrency: number;
}

export class Autoscaler {
  private readonly stable: WindowedAverage;
  private readonly panicWindow: WindowedAverage;
  /** When panic mode began (undefined: not panicking); it lasts at least a stable window. */
  private panicSince?: number;
  /** Highest desired count seen during this panic: panic never scales down. */
  private panicDesired = 0;

  constructor(
    private readonly settings: AutoscaleSettings,
    private readonly now: () => number = Date.now,
  ) {
    const t = now();
    this.stable = new WindowedAverage(settings.stableWindowMs, t);
    this.panicWindow = new WindowedAverage(settings.panicWindowMs, t);
  }

  /** The pool's concurrency (running + waiting calls) changed to `level`. */
  observe(level: number): void {
    const t = this.now();
    this.stable.set(level, t);
    this.panicWindow.set(level, t);
  }

  /** What the pool should hold, given it holds (or is starting) `current` sandboxes. */
  decide(current: number): ScaleDecision {
    const t = this.now();
    const { minSandboxes, maxSandboxes, targetConcurrency, stableWindowMs } = this.settings;
    const perSandbox = targetConcurrency * TARGET_UTILIZATION;
    const stableConcurrency = this.stable.average(t);
    const panicConcurrency = this.panicWindow.average(t);
    const stableWant = Math.ceil(stableConcurrency / perSandbox - 1e-9);
    const panicWant = Math.ceil(panicConcurrency / perSandbox - 1e-9);
    // Knative's rule: the panic window asking for twice what the pool holds (re)starts panic; it
    // ends once a whole stable window has passed without that.
    if (panicWant >= 2 * Math.max(current, 1)) this.panicSince = t;
    else if (this.panicSince !== undefined && t - this.panicSince >= stableWindowMs) {
      this.panicSince = undefined;
      this.panicDesired = 0;
    }
    let desired = stableWant;
    if (this.panicSince !== undefined) {
      this.panicDesired = Math.max(this.panicDesired, panicWant, current);
      desired = this.panicDesired;
    }
    desired = Math.min(maxSandboxes, Math.max(minSandboxes, desired));
    return { desired, panic: this.panicSince !== undefined, stableConcurrency, panicConcurrency };
  }
}
