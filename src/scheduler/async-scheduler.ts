// Async invocations: accepted into the store (and the bus) before the 202 is
// sent, run by whichever scheduler consumes the queue, retried with backoff on
// function failure, and ended as dead_letter when the retries are spent. With
// a non-durable bus, pending invocations are re-queued from the store at start.
import { randomUUID } from 'node:crypto';
import type { Bus, QueueMessage, Unsubscribe } from '../bus/bus.ts';
import type { NimbusConfig } from '../config/options.ts';
import { ASYNC_QUEUE } from '../engine/messages.ts';
import type { InvokeInput } from '../guest/protocol.ts';
import type { ActivationRecord, FunctionRecord, Store } from '../storage/store.ts';
import { FUNCTION_FAILURES, isNimbusError, type ErrorCode } from '../shared/errors.ts';
import type { Dispatcher } from './dispatcher.ts';

const PLATFORM_RETRY_MS = 1000;

export function newActivationId(): string {
  return randomUUID().replace(/-/g, '');
}

export class AsyncScheduler {
  private unsubscribe?: Unsubscribe;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly dispatcher: Dispatcher,
    private readonly config: NimbusConfig,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.bus.consume(ASYNC_QUEUE, (m) => this.handle(m));
    if (!this.bus.durable) {
      const pending = await this.store.pendingQueue();
      for (const e of pending) await this.bus.enqueue(ASYNC_QUEUE, e.activationId, { activationId: e.activationId }, Math.max(0, e.runAt - Date.now()));
      if (pending.length) this.log(`re-queued ${pending.length} pending async invocations`);
    }
  }

  async accept(fn: FunctionRecord, input: InvokeInput, idempotencyKey?: string): Promise<{ activationId: string; duplicate: boolean }> {
    const now = new Date();
    const record: ActivationRecord = {
      id: newActivationId(), functionName: fn.name, functionVersion: fn.version, engine: fn.config.engine,
      trigger: 'async', status: 'queued', cold: null, invoker: null, sandboxId: null, attempts: 0,
      queuedMs: null, initMs: null, runMs: null, createdAt: now.toISOString(), startedAt: null, endedAt: null,
      result: null, error: null, logs: '', logsTruncated: false, maxMemoryMb: null, gbSeconds: null,
    };
    const accepted = await this.store.enqueue(record, {
      activationId: record.id, functionName: fn.name, input, attempts: 0, maxAttempts: this.config.asyncRetries + 1,
      runAt: now.getTime(), idempotencyKey: idempotencyKey ?? null, state: 'pending',
    });
    if (!accepted.duplicate) await this.bus.enqueue(ASYNC_QUEUE, accepted.activationId, { activationId: accepted.activationId });
    return accepted;
  }

  private async handle(message: QueueMessage): Promise<void> {
    const id = String((message.data as { activationId?: unknown })?.activationId ?? message.id);
    const entry = await this.store.getQueueEntry(id);
    const queued = await this.store.getActivation(id);
    if (!entry || entry.state === 'done' || !queued) return;
    const fn = await this.store.getVersion(entry.functionName, queued.functionVersion);
    if (!fn) return this.end(queued, { code: 'not_found', message: `function ${entry.functionName} version ${queued.functionVersion} was deleted before it ran` }, 'error');
    const attempt = entry.attempts + 1;
    let reply;
    try {
      reply = await this.dispatcher.run(
        { activationId: id, functionName: fn.name, functionVersion: fn.version, trigger: 'async', input: entry.input as InvokeInput, acceptedAt: Date.parse(queued.createdAt), attempt, createdAt: queued.createdAt },
        fn.config.timeoutMs,
      );
    } catch (e) {
      if (isNimbusError(e) && (e.code === 'throttled' || e.code === 'unavailable')) {
        await this.store.updateQueueEntry(id, { runAt: Date.now() + PLATFORM_RETRY_MS });
        await this.bus.enqueue(ASYNC_QUEUE, id, { activationId: id }, PLATFORM_RETRY_MS);
        return;
      }
      throw e;
    }
    const record = reply.activation;
    const failed = record.error && FUNCTION_FAILURES.has(record.error.code as ErrorCode);
    if (!failed) return this.store.updateQueueEntry(id, { attempts: attempt, state: 'done' });
    if (attempt < entry.maxAttempts) {
      const delay = this.config.asyncRetryBaseMs * 2 ** (attempt - 1);
      await this.store.putActivation({ ...record, status: 'queued' });
      await this.store.updateQueueEntry(id, { attempts: attempt, runAt: Date.now() + delay });
      await this.bus.enqueue(ASYNC_QUEUE, id, { activationId: id }, delay);
      return;
    }
    this.log(`async activation ${id} of ${fn.name} is dead-lettered after ${attempt} attempts`, { error: record.error });
    await this.end(record, record.error, 'dead_letter');
  }

  private async end(record: ActivationRecord, error: ActivationRecord['error'], status: 'error' | 'dead_letter'): Promise<void> {
    await this.store.putActivation({ ...record, status, error, endedAt: record.endedAt ?? new Date().toISOString() });
    await this.store.updateQueueEntry(record.id, { state: 'done' });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }
}
