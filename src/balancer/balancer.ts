// Invoker selection. The contract every balancer meets; embedded mode has one
// invoker, cluster mode (balancer/sharding.ts) picks by consistent hashing with
// overflow to the least-loaded healthy invoker.

export interface Balancer {
  /** The invoker that should run this function now. */
  pick(functionName: string): Promise<string>;
  /** Tells the balancer an invoker failed to answer (so it can look elsewhere). */
  reportFailure?(invokerId: string): void;
  close?(): Promise<void>;
}

/** Embedded mode: the platform's own invoker. */
export class SingleInvokerBalancer implements Balancer {
  constructor(private readonly invokerId: string) {}
  async pick(): Promise<string> {
    return this.invokerId;
  }
}
