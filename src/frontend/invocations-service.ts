// Function serving: sync and HTTP-route calls go through the dispatcher to an
// invoker; async calls go to the scheduler, which stores them before answering.
import type { InvokeInput } from '../guest/protocol.ts';
import type { RunReply } from '../engine/messages.ts';
import type { AsyncScheduler } from '../scheduler/async-scheduler.ts';
import { newActivationId } from '../scheduler/async-scheduler.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import type { FunctionsService } from './functions-service.ts';
import { isoTime } from '../shared/iso-time.ts';
import { runTargetFields, type TargetPick } from './targets.ts';

export class InvocationsService {
  constructor(
    private readonly functions: FunctionsService,
    private readonly dispatcher: Dispatcher,
    private readonly scheduler: AsyncScheduler,
  ) {}

  /** `name` is a qualified reference: `name`, `name:3` or `name:alias` (targets.ts), or the name with `pick`. */
  async sync(name: string, input: InvokeInput, trigger: 'sync' | 'http', pick?: TargetPick): Promise<RunReply> {
    const acceptedAt = Date.now();
    const target = await this.functions.resolve(name, pick);
    const fn = target.version;
    await this.dispatcher.quotas?.admit(fn.name); // 429 past the namespace's invocationsPerMinute
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
        ...runTargetFields(target),
      },
      fn.config.timeoutMs,
    );
  }

  async async(
    name: string,
    input: InvokeInput,
    idempotencyKey?: string,
    pick?: TargetPick,
  ): Promise<{ activationId: string; duplicate: boolean }> {
    const target = await this.functions.resolve(name, pick);
    return this.scheduler.accept(target.version, input, idempotencyKey, 'async', target.alias);
  }
}
