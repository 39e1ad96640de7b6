// How many queued async calls of one function the scheduler works on at once.
// The in-process bus hands over every queued message at once; sent on to the
// invoker together, all but the function's sandbox slots and its bounded wait
// queue were refused as throttled and came back after a backoff of 1 s
// doubling to 30 s, so a backlog ran far slower than the function could. Here
// each function has two FIFO lanes instead: `work` bounds the calls whose
// entries are read and bookkept (what is held in memory), `run` the calls sent
// to the invoker, a little over the function's sandbox slots (concurrency x
// maxSandboxes) so that a freed slot finds the next call already waiting in
// the pool, and never more than half the pool's wait queue (sync calls keep
// the rest). A call that leaves a lane hands its place to the next at once:
// no polling, no backoff. The NATS bus holds a fixed number of messages per
// process (its `concurrency`), which bounds the same thing there: no lanes.
import type { FunctionConfig } from '../storage/store.ts';

type Leave = () => void;

class Lane {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** Resolves once a place is free (FIFO); the returned function gives it back, once. */
  async enter(limit: number): Promise<Leave> {
    if (this.running >= limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the place passes straight on: `running` stays the same
      else this.running--;
    };
  }

  get idle(): boolean {
    return this.running === 0 && this.waiting.length === 0;
  }
}

/** Sandbox slots of a function (the most calls its pool runs at once on one invoker). */
export const slotsOf = (c: Pick<FunctionConfig, 'concurrency' | 'maxSandboxes'>) => c.concurrency * c.maxSandboxes;

export class RunGate {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    /** The invoker's wait queue per function pool (config.waitQueueLimit). */
    private readonly waitQueueLimit: number,
  ) {}

  /** For the in-process bus only (see the top of this file); undefined on NATS. */
  static forBus(bus: string | undefined, waitQueueLimit: number): RunGate | undefined {
    return bus === undefined || bus === 'memory' ? new RunGate(waitQueueLimit) : undefined;
  }

  /** Calls sent to the invoker at once for a function with `slots` sandbox slots. */
  runLimit(slots: number): number {
    return slots + Math.min(slots, Math.floor(this.waitQueueLimit / 2));
  }

  /** Calls worked on at once (read, run, bookkept): enough that reading and bookkeeping never leave a slot idle. */
  workLimit(slots: number): number {
    return Math.max(64, 4 * this.runLimit(slots));
  }

  work(functionName: string, slots: number): Promise<Leave> {
    return this.enter(`w:${functionName}`, this.workLimit(slots));
  }

  run(functionName: string, slots: number): Promise<Leave> {
    return this.enter(`r:${functionName}`, this.runLimit(slots));
  }

  private async enter(key: string, limit: number): Promise<Leave> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = new Lane()));
    const leave = await lane.enter(limit);
    return () => {
      leave();
      if (lane.idle && this.lanes.get(key) === lane) this.lanes.delete(key);
    };
  }
}
