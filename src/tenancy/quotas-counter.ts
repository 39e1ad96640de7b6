// Where quota counts live. One contract, two homes: this process's memory
// (embedded: one process serves every call, so its count is the count) and
// the shared SQL store (cluster: quotas-sql.ts, so that every front end and
// invoker counts against the same numbers).

/** Gives back a slot taken with `acquire`; safe to call more than once. */
export type Release = () => Promise<void>;

export interface QuotaCounter {
  /**
   * Counts one invocation in the namespace's minute window (epoch ms / 60000)
   * unless `limit` have been counted there already: true when counted.
   */
  countInvocation(namespace: string, minute: number, limit: number): Promise<boolean>;
  /** Takes one of the namespace's `max` execution slots; undefined when every one is taken. */
  acquire(namespace: string, max: number): Promise<Release | undefined>;
  /** What the namespace uses now: executions running, invocations counted this minute. */
  usage(namespace: string, minute: number): Promise<{ running: number; invocationsThisMinute: number }>;
  /** Stops background work (lease renewal). */
  close(): Promise<void>;
}

/** Counts in this process: exact, at no cost, for a platform that is one process. */
export class MemoryQuotaCounter implements QuotaCounter {
  private readonly minutes = new Map<string, { minute: number; count: number }>();
  private readonly running = new Map<string, number>();

  async countInvocation(namespace: string, minute: number, limit: number): Promise<boolean> {
    let window = this.minutes.get(namespace);
    if (!window || window.minute !== minute) this.minutes.set(namespace, (window = { minute, count: 0 }));
    if (window.count >= limit) return false;
    window.count++;
    return true;
  }

  async acquire(namespace: string, max: number): Promise<Release | undefined> {
    const held = this.running.get(namespace) ?? 0;
    if (held >= max) return undefined;
    this.running.set(namespace, held + 1);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const left = (this.running.get(namespace) ?? 1) - 1;
      if (left > 0) this.running.set(namespace, left);
      else this.running.delete(namespace);
    };
  }

  async usage(namespace: string, minute: number): Promise<{ running: number; invocationsThisMinute: number }> {
    const window = this.minutes.get(namespace);
    return {
      running: this.running.get(namespace) ?? 0,
      invocationsThisMinute: window?.minute === minute ? window.count : 0,
    };
  }

  async close(): Promise<void> {}
}
