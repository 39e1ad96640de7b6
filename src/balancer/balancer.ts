// Invoker selection. The contract every balancer meets; embedded mode has one
// invoker, cluster mode (balancer/sharding.ts) picks by consistent hashing with
// overflow to the least-loaded healthy invoker.

export interface Balancer {
  /** The invoker that should run this function now. Each pick is followed by one `finished`. */
  pick(functionName: string): Promise<string>;
  /** The run sent to this invoker has ended (the balancer counts runs in flight). */
  finished?(invokerId: string): void;
  /** Tells the balancer an invoker failed to answer (so it can look elsewhere). */
  reportFailure?(invokerId: string): void;
  /** Aborted when the invoker leaves the pool, so a run waiting on it fails fast. */
  departure?(invokerId: string): AbortSignal;
  close?(): Promise<void>;
}

/** Embedded mode: the platform's own invoker. */
export class SingleInvokerBalancer implements Balancer {
  constructor(private readonly invokerId: string) {}
  async pick(): Promise<string> {
    return this.invokerId;
  }
}
