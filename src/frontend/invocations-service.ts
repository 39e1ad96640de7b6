// Function serving: sync and HTTP-route calls go through the dispatcher to an
// invoker; async calls go to the scheduler, which stores them before answering.
import type { InvokeInput } from '../guest/protocol.ts';
import type { RunReply } from '../engine/messages.ts';
import type { AsyncScheduler } from '../scheduler/async-scheduler.ts';
import { newActivationId } from '../scheduler/async-scheduler.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import type { FunctionsService } from './functions-service.ts';
import { isoTime } from '../shared/iso-time.ts';

export class InvocationsService {
  constructor(
    private readonly functions: FunctionsService,
    private readonly dispatcher: Dispatcher,
    private readonly scheduler: AsyncScheduler,
  ) {}

  async sync(name: string, input: InvokeInput, trigger: 'sync' | 'http'): Promise<RunReply> {
    const acceptedAt = Date.now();
    const fn = await this.functions.get(name);
    return this.dispatcher.run(
      {
        activationId: newActivationId(),
        functionName: fn.name,
        functionVersion: fn.version,
        trigger,
        input,
        acceptedAt,
        attempt: 1,
        createdAt: isoTime(acceptedAt),
      },
      fn.config.timeoutMs,
    );
  }

  async async(
    name: string,
    input: InvokeInput,
    idempotencyKey?: string,
  ): Promise<{ activationId: string; duplicate: boolean }> {
    const fn = await this.functions.get(name);
    return this.scheduler.accept(fn, input, idempotencyKey);
  }
}
