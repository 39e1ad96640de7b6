// Applies the autoscaler and the learned keep-alive to one pool (pool.ts):
// counts the pool's demand (calls acquired and not released), applies the
// autoscaler's decision on a timer, records the function's idle times, and
// after the last call either lets each sandbox's keep-alive run (learned or
// fixed) or, with a learned pre-warm, unloads now and loads one sandbox again
// just before the likely next call. Kept apart from the pool's own rules
// (warm reuse, queueing, caps), which it reaches through ScaledPool.
import { Autoscaler } from './autoscaler.ts';
import type { PoolScaling } from './pool-scaling.ts';

/** What the scaler sees of a pool and may do to it. */
export interface ScaledPool {
  /** Sandboxes held or starting. */
  held(): number;
  /** False once the pool is closed or draining: nothing is started or learned then. */
  active(): boolean;
  minSandboxes(): number;
  /** Idle, ready sandboxes. */
  idle(): { id: string; lastUsed: number }[];
  /** Disposes an idle sandbox (nothing if it is no longer idle). */
  remove(id: string): void;
  /** Starts one sandbox ahead of demand (never evicting another function's); rejects when it could not. */
  start(): Promise<void>;
}

export class PoolScaler {
  private demand = 0;
  private readonly autoscaler: Autoscaler;
  private readonly timer: NodeJS.Timeout;
  /** Sandboxes the autoscaler started. */
  scaledUp = 0;
  /** The last decision's desired count (undefined before the first, and once the pool stops taking calls). */
  desired?: number;
  /** Since when no call has been in the pool (idle times are measured from here). */
  private idleSince?: number;
  private prewarmTimer?: NodeJS.Timeout;

  constructor(
    private readonly pool: ScaledPool,
    private readonly scaling: PoolScaling,
    private readonly fixedKeepAliveMs: number,
  ) {
    this.autoscaler = new Autoscaler(scaling.autoscale);
    this.timer = setInterval(() => this.apply(), scaling.autoscale.intervalMs);
    this.timer.unref();
  }

  /** A call entered the pool; an idle time, if one was running, ends here. */
  entered(): void {
    this.autoscaler.observe(++this.demand);
    if (this.idleSince === undefined) return;
    this.scaling.idleTimes?.record(Date.now() - this.idleSince);
    this.idleSince = undefined;
    clearTimeout(this.prewarmTimer);
  }

  /** A call left the pool (done, or refused); `waiting` calls still wait for a sandbox. */
  left(waiting: number): void {
    this.autoscaler.observe(--this.demand);
    if (this.demand === 0 && waiting === 0) this.becameIdle();
  }

  /** The keep-alive of a sandbox that just went idle: learned, or the fixed one. */
  keepAliveMs(): number {
    return this.scaling.idleTimes?.decide(this.fixedKeepAliveMs).keepAliveMs ?? this.fixedKeepAliveMs;
  }

  /**
   * No call is left. With a learned pre-warm (the next call is likely not
   * soon), idle sandboxes above minSandboxes go now and one is started again
   * just before the likely next call (Shahrad et al.'s hybrid policy).
   */
  private becameIdle(): void {
    this.idleSince = Date.now();
    const decision = this.scaling.idleTimes?.decide(this.fixedKeepAliveMs);
    if (!decision || decision.prewarmMs === 0 || !this.pool.active()) return;
    for (const { id } of this.pool.idle()) if (this.pool.held() > this.pool.minSandboxes()) this.pool.remove(id);
    clearTimeout(this.prewarmTimer);
    this.prewarmTimer = setTimeout(() => {
      if (this.idleSince !== undefined && this.pool.held() === 0 && this.pool.active())
        this.pool.start().catch(() => undefined);
    }, decision.prewarmMs);
    this.prewarmTimer.unref();
  }

  /**
   * The autoscaler's decision, applied: sandboxes up to the desired count
   * while there is demand (never from none: keep-alive and pre-warm decide
   * that), idle ones above it removed, least recently used first, down to one
   * (the last goes by keep-alive).
   */
  private apply(): void {
    if (!this.pool.active()) {
      this.desired = undefined;
      return;
    }
    const current = this.pool.held();
    const { desired, panic } = this.autoscaler.decide(current);
    this.desired = desired;
    if (desired > current && this.demand > 0) {
      for (let i = current; i < desired; i++) {
        this.scaledUp++;
        // A full platform simply leaves the pool as it is.
        this.pool.start().catch(() => undefined);
      }
      this.scaling.onScale?.('up', panic);
      return;
    }
    const floor = Math.max(desired, 1, this.pool.minSandboxes());
    const idle = this.pool.idle().sort((a, b) => a.lastUsed - b.lastUsed);
    let removed = 0;
    for (const { id } of idle) {
      if (this.pool.held() <= floor) break;
      this.pool.remove(id);
      removed++;
    }
    if (removed > 0) this.scaling.onScale?.('down', panic);
  }

  stop(): void {
    this.desired = undefined;
    clearInterval(this.timer);
    clearTimeout(this.prewarmTimer);
  }
}
