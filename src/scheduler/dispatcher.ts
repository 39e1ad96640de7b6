// Sends one run to an invoker over the bus and returns its reply: the path a
// sync invocation, an HTTP route call and each async attempt all take. A run
// that reached nobody (no invoker listening) is sent once more to another
// pick; a run whose invoker leaves the pool fails at once with `unavailable`.
import type { Bus } from '../bus/bus.ts';
import type { Balancer } from '../balancer/balancer.ts';
import { RunReply, invokerSubject, type RunRequest } from '../engine/messages.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';
import type { QuotaGate } from '../tenancy/quotas.ts';

/** Time over the function's timeout that a run may take (cold start, queueing, transit). */
export const RUN_MARGIN_MS = 60_000;
const SENDS = 2;

function untilAborted(signal: AbortSignal | undefined): { promise: Promise<never>; cancel: () => void } {
  let cancel = () => undefined as void;
  const promise = new Promise<never>((_, reject) => {
    if (!signal) return;
    const onAbort = () =>
      reject(
        signal.reason instanceof Error ? signal.reason : new NimbusError('unavailable', 'the invoker left the pool'),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    cancel = () => signal.removeEventListener('abort', onAbort);
  });
  promise.catch(() => undefined);
  return { promise, cancel };
}

export class Dispatcher {
  constructor(
    private readonly bus: Bus,
    private readonly balancer: Balancer,
    /** The namespaces' quotas: every run holds a concurrency slot while it runs (tenancy/quotas.ts). */
    readonly quotas?: QuotaGate,
  ) {}

  async run(req: RunRequest, timeoutMs: number): Promise<RunReply> {
    const release = await this.quotas?.enter(req.functionName);
    return this.send(req, timeoutMs).finally(release);
  }

  private async send(req: RunRequest, timeoutMs: number): Promise<RunReply> {
    for (let send = 1; ; send++) {
      const invokerId = await this.balancer.pick(req.functionName);
      const gone = this.balancer.departure ? untilAborted(this.balancer.departure(invokerId)) : undefined;
      let reply: unknown;
      try {
        const sent = this.bus.request(invokerSubject(invokerId), req, timeoutMs + RUN_MARGIN_MS);
        reply = await (gone ? Promise.race([sent, gone.promise]) : sent);
      } catch (e) {
        if (isNimbusError(e) && e.code === 'unavailable') {
          this.balancer.reportFailure?.(invokerId);
          if (e.details.delivered === false && send < SENDS) continue;
        }
        throw e;
      } finally {
        gone?.cancel();
        this.balancer.finished?.(invokerId);
      }
      const parsed = RunReply.safeParse(reply);
      if (!parsed.success) throw new NimbusError('internal', `invoker ${invokerId} sent an invalid reply`);
      return reply as RunReply;
    }
  }
}
