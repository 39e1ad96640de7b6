// Function serving: sync and HTTP-route calls go through the dispatcher to an
// invoker; async calls go to the scheduler, which stores them before answering.
import type { InvokeInput } from '../guest/protocol.ts';
import type { RunReply, RunRequest } from '../engine/messages.ts';
import type { Composer } from '../compose/composer.ts';
import type { AsyncScheduler } from '../scheduler/async-scheduler.ts';
import { newActivationId } from '../scheduler/async-scheduler.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import type { FunctionsService } from './functions-service.ts';
import { isoTime } from '../shared/iso-time.ts';
import type { TargetPick } from './targets.ts';

export class InvocationsService {
  constructor(
    private readonly functions: FunctionsService,
    private readonly dispatcher: Dispatcher,
    private readonly scheduler: AsyncScheduler,
    /** Runs sequences (compose/); without it every version goes to the dispatcher. */
    private readonly compose?: Composer,
  ) {}

  /** `name` is a qualified reference: `name`, `name:3` or `name:alias` (targets.ts), or the name with `pick`. */
  async sync(name: string, input: InvokeInput, trigger: 'sync' | 'http', pick?: TargetPick): Promise<RunReply> {
    const acceptedAt = Date.now();
    const target = await this.functions.resolve(name, pick);
    const fn = target.version;
    await this.dispatcher.quotas?.admit(fn.name); // 429 past the namespace's invocationsPerMinute
    const run = (req: RunRequest, timeoutMs: number) =>
      this.compose ? this.compose.run(fn, req, timeoutMs) : this.dispatcher.run(req, timeoutMs);
    return run(
      {
        activationId: newActivationId(),
        functionName: fn.name,
        functionVersion: fn.version,
        trigger,
        input,
        acceptedAt,
        attempt: 1,
        createdAt: isoTime(acceptedAt),
        // Always both fields (one object shape on the warm path): the alias for the record, and whether the version was asked for.
        alias: target.alias,
        pinned: target.chosenBy !== 'latest',
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
