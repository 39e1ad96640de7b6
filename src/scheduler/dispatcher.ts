// Sends one run to an invoker over the bus and returns its reply: the path a
// sync invocation, an HTTP route call and each async attempt all take.
import type { Bus } from '../bus/bus.ts';
import type { Balancer } from '../balancer/balancer.ts';
import { RunReply, invokerSubject, type RunRequest } from '../engine/messages.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';

/** Time over the function's timeout that a run may take (cold start, queueing, transit). */
export const RUN_MARGIN_MS = 60_000;

export class Dispatcher {
  constructor(private readonly bus: Bus, private readonly balancer: Balancer) {}

  async run(req: RunRequest, timeoutMs: number): Promise<RunReply> {
    const invokerId = await this.balancer.pick(req.functionName);
    let reply: unknown;
    try {
      reply = await this.bus.request(invokerSubject(invokerId), req, timeoutMs + RUN_MARGIN_MS);
    } catch (e) {
      if (isNimbusError(e) && e.code === 'unavailable') this.balancer.reportFailure?.(invokerId);
      throw e;
    }
    const parsed = RunReply.safeParse(reply);
    if (!parsed.success) throw new NimbusError('internal', `invoker ${invokerId} sent an invalid reply`);
    return reply as RunReply;
  }
}
