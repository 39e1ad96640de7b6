// The balancer of an invoker node, for the async calls it takes from the
// queue (and the sequence steps they lead to): a call runs on this node's own
// invoker when the function is warm here, with no hop to another process;
// otherwise the cluster's balancer picks (the function's home invoker, where
// its sandboxes are kept warm). Each node takes from the queue only what it
// has room for, so running those calls where they were taken spreads a
// backlog over the nodes by itself.
import type { Balancer } from './balancer.ts';

/** Never aborted: this node's own invoker leaves only when the node stops. */
const STAYS = new AbortController().signal;

export class LocalFirstBalancer implements Balancer {
  /** Picks of this node's invoker made here, not by the cluster's balancer (which counts its own). */
  private mine = 0;

  constructor(
    /** This node's invoker id. */
    private readonly self: string,
    /** Whether this node's invoker holds warm sandboxes of the function's newest version. */
    private readonly warm: (functionName: string) => boolean,
    private readonly cluster: Balancer,
  ) {}

  async pick(functionName: string): Promise<string> {
    if (!this.warm(functionName)) return this.cluster.pick(functionName);
    this.mine++;
    return this.self;
  }

  finished(invokerId: string): void {
    if (invokerId === this.self && this.mine > 0) this.mine--;
    else this.cluster.finished?.(invokerId);
  }

  reportFailure(invokerId: string): void {
    this.cluster.reportFailure?.(invokerId);
  }

  departure(invokerId: string): AbortSignal {
    if (invokerId === this.self) return STAYS;
    return this.cluster.departure?.(invokerId) ?? STAYS;
  }

  close(): Promise<void> {
    return this.cluster.close?.() ?? Promise.resolve();
  }
}
