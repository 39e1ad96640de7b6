// Runs a sequence: each step through the dispatcher as an ordinary run (its
// own activation, on whatever engine the step uses), its result the next
// step's event. One parent activation stands for the whole sequence and lists
// its children; a failing step stops the sequence, and the parent takes that
// step's status and error. The same code serves sync calls and async attempts
// (the scheduler hands the queued parent's id in).
import type { RunReply, RunRequest } from '../engine/messages.ts';
import { pendingRecord } from '../engine/records.ts';
import type { ActivationRecord, Store, VersionRecord } from '../storage/store.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';
import { isoTime } from '../shared/iso-time.ts';
import { newActivationId } from '../scheduler/async-scheduler.ts';
import { splitQualified } from '../tenancy/names.ts';
import { MAX_NESTING } from './sequence-spec.ts';

/** One run on an invoker (the Dispatcher's run). */
export type RunOne = (req: RunRequest, timeoutMs: number) => Promise<RunReply>;
/** The version a step reference names, in a namespace (undefined when it does not exist). */
export type ResolveStep = (namespace: string, ref: string) => Promise<VersionRecord | undefined>;

export function isSequence(v: Pick<VersionRecord, 'config'>): boolean {
  return v.config.kind === 'sequence';
}

export class SequenceRunner {
  constructor(
    private readonly store: Store,
    private readonly runOne: RunOne,
    private readonly resolve: ResolveStep,
  ) {}

  /** Runs the sequence `seq` for the request (its activation id becomes the parent's). */
  async run(seq: VersionRecord, req: RunRequest, depth = 0): Promise<RunReply> {
    const started = Date.now();
    const parent = parentRecord(seq, req, started);
    // Stored as not yet attempted: were this process to stop mid-sequence, the async
    // scheduler would read a record of this attempt as its outcome instead of running it again.
    await this.store.putActivation({ ...parent, attempts: req.attempt - 1 });
    let event: unknown = req.input.kind === 'event' ? req.input.event : undefined;
    let failed: ActivationRecord | undefined;
    const deadline = started + (seq.config.timeoutMs || 60_000);
    try {
      if (req.input.kind !== 'event')
        throw new NimbusError('bad_request', `sequence "${seq.name}" takes events; invoke it with POST .../invoke`);
      for (const ref of seq.config.steps ?? []) {
        const step = await this.resolve(splitQualified(seq.name).namespace, ref);
        if (!step) throw new NimbusError('not_found', `step "${ref}" of sequence "${seq.name}" no longer exists`);
        const left = deadline - Date.now();
        if (left <= 0)
          throw new NimbusError('timeout', `sequence "${seq.name}" ran past its ${seq.config.timeoutMs} ms`);
        const child = await this.step(step, event, req, depth, Math.min(left, step.config.timeoutMs));
        parent.childActivationIds?.push(child.activation.id);
        if (child.activation.status !== 'success') {
          failed = child.activation;
          break;
        }
        event = child.output?.kind === 'value' ? child.output.value : child.activation.result;
      }
    } catch (e) {
      const err = isNimbusError(e) ? e : new NimbusError('internal', (e as Error).message);
      failed = { ...parent, status: err.code === 'timeout' ? 'timeout' : 'error', error: err.toJSON() };
    }
    const done: ActivationRecord = {
      ...parent,
      status: failed ? failed.status : 'success',
      error: failed ? failed.error : null,
      result: failed ? null : (event ?? null),
      runMs: Date.now() - started,
      endedAt: isoTime(),
    };
    // As an invoker does: a caller that stores the outcome with its own bookkeeping (async) gets it in the reply only.
    if (!req.callerRecords) await this.store.putActivation(done);
    return failed ? { activation: done } : { activation: done, output: { kind: 'value', value: event ?? null } };
  }

  private async step(
    step: VersionRecord,
    event: unknown,
    req: RunRequest,
    depth: number,
    timeoutMs: number,
  ): Promise<RunReply> {
    const now = Date.now();
    const child: RunRequest = {
      activationId: newActivationId(),
      functionName: step.name,
      functionVersion: step.version,
      trigger: 'sequence',
      input: { kind: 'event', event },
      acceptedAt: now,
      attempt: 1,
      createdAt: isoTime(now),
      parentActivationId: req.activationId,
    };
    if (!isSequence(step)) return this.runOne(child, timeoutMs);
    if (depth >= MAX_NESTING) throw new NimbusError('bad_request', `sequences nest deeper than ${MAX_NESTING}`);
    return this.run(step, child, depth + 1);
  }
}

function parentRecord(seq: VersionRecord, req: RunRequest, started: number): ActivationRecord {
  return {
    ...pendingRecord({
      id: req.activationId,
      functionName: seq.name,
      functionVersion: seq.version,
      engine: 'sequence',
      trigger: req.trigger,
      status: 'running',
      createdAt: req.createdAt,
    }),
    attempts: req.attempt,
    queuedMs: started - req.acceptedAt,
    startedAt: isoTime(started),
    gbSeconds: 0,
    childActivationIds: [],
    ...(req.parentActivationId ? { parentActivationId: req.parentActivationId } : {}),
    ...(req.alias ? { alias: req.alias } : {}),
    ...(req.chainDepth ? { chainDepth: req.chainDepth } : {}),
  };
}
