// The backstop for memory that V8's heap limit does not see: a pool serves
// one function, so its resident memory may be the pool's own baseline plus
// memoryMb for each of the function's sandboxes. Past that the function is
// over its memory, whatever kind of memory it used: the pool is killed and
// its calls end memory_exhausted (the next create starts a fresh pool).
import type { PoolLog, PoolProcess } from './pool-process.ts';

/** How often the pool's RSS is read (one small /proc read). */
const EVERY_MS = 100;
/** Room for what a pool holds besides the functions' own memory: a spare isolate, code caches, isolated-vm's bookkeeping. */
const SLACK_MB = 48;
/** Each isolate's own V8 overhead (context, runtime, compiled code), not part of its heap limit. */
const PER_ISOLATE_MB = 8;

export class RssWatchdog {
  private readonly timer: NodeJS.Timeout;
  private reading = false;

  /** `baselineMb`: the pool's RSS when it became ready, before any function memory (Node, isolated-vm, the runtime). */
  constructor(
    private readonly pool: PoolProcess,
    private readonly baselineMb: number,
    private readonly budgets: () => number[],
    private readonly log: PoolLog,
  ) {
    this.timer = setInterval(() => void this.check(), EVERY_MS);
    this.timer.unref();
  }

  /** The most the pool may hold now, in MB. */
  limitMb(): number {
    const budgets = this.budgets();
    return this.baselineMb + SLACK_MB + budgets.reduce((sum, mb) => sum + mb + PER_ISOLATE_MB, 0);
  }

  private async check(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const rss = await this.pool.rssMb();
      if (rss === undefined) return;
      const limit = this.limitMb();
      if (rss <= limit || !this.pool.alive) return;
      const n = this.budgets().length;
      this.log('warn', 'isolate pool over its memory; killed', {
        rssMb: Math.round(rss),
        limitMb: Math.round(limit),
        sandboxes: n,
      });
      this.stop();
      await this.pool.kill(
        `the function went over its memory limit: its isolate pool held ${Math.round(rss)} MB, more than memoryMb allows for its ${n} sandbox${n === 1 ? '' : 'es'} (${Math.round(limit)} MB with the pool's own); raise memoryMb or use less memory`,
        'memory_exhausted',
        true,
      );
    } finally {
      this.reading = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
