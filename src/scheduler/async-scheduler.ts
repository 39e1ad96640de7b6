// Async invocations: accepted into the store (and the bus) before the 202 is
// sent, run by whichever scheduler consumes the queue, retried with backoff on
// function failure (the bus redelivers the message after the delay), and ended
// as dead_letter when the retries are spent or when the bus gives up on the
// message (delivered too often without completing: crashing invokers). The
// store is the outbox (outbox.ts): an invocation whose publisher stopped
// between storing and queueing it is queued by a relay in a consuming process.
import { randomFillSync } from 'node:crypto';
import { z } from 'zod';
import { Redeliver, type Bus, type QueueMessage, type Unsubscribe } from '../bus/bus.ts';
import type { NimbusConfig } from '../config/options.ts';
import { ASYNC_QUEUE, type RunRequest } from '../engine/messages.ts';
import type { Composer } from '../compose/composer.ts';
import { pendingRecord } from '../engine/records.ts';
import type { InvokeInput } from '../guest/protocol.ts';
import type {
  ActivationRecord,
  FunctionRecord,
  QueueChange,
  QueueEntry,
  Store,
  VersionRecord,
} from '../storage/store.ts';
import { FUNCTION_FAILURES, NimbusError, isNimbusError, type ErrorCode } from '../shared/errors.ts';
import type { Dispatcher } from './dispatcher.ts';
import { Outbox, type OutboxTiming } from './outbox.ts';
import { RunGate, slotsOf } from './run-gate.ts';
import { WebhookShare } from './webhook-share.ts';

/** Retry delay when no invoker could take the run (throttled, unavailable): 1 s doubling to 30 s. */
const platformRetryMs = (deliveries: number) => Math.min(30_000, 1000 * 2 ** Math.min(5, Math.max(0, deliveries - 1)));
/** What an async queue message carries (validated: it crossed the bus). */
const AsyncMessage = z.object({
  activationId: z.string().min(1).max(200),
  /** The function and its sandbox slots, for the run gate without a read (absent in messages a relay published). */
  fn: z.string().min(1).max(300).optional(),
  slots: z.number().int().min(1).max(1_000_000).optional(),
});
/** The triggers whose calls take the async path. */
export type AsyncTrigger = Extract<ActivationRecord['trigger'], 'async' | 'cron' | 'topic' | 'destination'>;
const NOT_ACCEPTED = 'not accepted: the message bus did not acknowledge it, so it will not run';

/** Random bytes drawn 4 KB at a time, 10 an id (0.28 us an id; randomUUID and slicing out its dashes took 0.40). */
const randomBytes = Buffer.alloc(4096);
let randomTaken = randomBytes.length;

/**
 * 32 hex digits: the time in milliseconds (12), then 80 random bits (20). Ids
 * that grow with time keep inserts at the right edge of the store's index,
 * which halves what writing an activation record costs.
 */
export function newActivationId(): string {
  if (randomTaken + 10 > randomBytes.length) {
    randomFillSync(randomBytes);
    randomTaken = 0;
  }
  randomTaken += 10;
  return Date.now().toString(16).padStart(12, '0') + randomBytes.toString('hex', randomTaken - 10, randomTaken);
}

export class AsyncScheduler {
  private unsubscribe?: Unsubscribe;
  /** Sequences and destinations (compose/), set by the platform once it is made (it queues through this scheduler). */
  compose?: Composer;
  /**
   * Version records by name and number, from a cache this process keeps true
   * (the invoker's, dropped on every deploy and delete broadcast); without
   * one, each run reads the store.
   */
  versions?: (name: string, version: number) => Promise<VersionRecord | undefined>;
  readonly outbox: Outbox;
  /** Each namespace's share of the queue slots for functions with webhook destinations. */
  private readonly webhooks: WebhookShare;
  /** Each function's calls worked on and sent to the invoker at once (in-process bus only: run-gate.ts). */
  private readonly gate?: RunGate;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly dispatcher: Dispatcher,
    private readonly config: NimbusConfig,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void,
    outboxTiming?: OutboxTiming,
  ) {
    this.outbox = new Outbox(store, bus, log, outboxTiming);
    this.webhooks = WebhookShare.forBus(config.bus);
    this.gate = RunGate.forBus(config.bus, config.waitQueueLimit);
  }

  /** Consumes the queue here, and relays from the outbox (where there are consumers, a message can run). */
  async start(): Promise<void> {
    this.unsubscribe = await this.bus.consume(ASYNC_QUEUE, (m) => this.handle(m), {
      onDeadLetter: (m) => this.deadLetter(m),
    });
    await this.outbox.start();
  }

  async accept(
    /** The function's current version, or the version a trigger pinned. */
    fn: FunctionRecord | VersionRecord,
    input: InvokeInput,
    idempotencyKey?: string,
    /** What made the call: `async` (the API), or an event source (`cron`, `topic`). */
    trigger: AsyncTrigger = 'async',
    /** The alias the call came through (its version was drawn at acceptance: retries run the same one). */
    alias?: string,
    /** Destination hops that led here (compose/destinations.ts stops a chain at 8). */
    chainDepth?: number,
  ): Promise<{ activationId: string; duplicate: boolean }> {
    await this.dispatcher.quotas?.admit(fn.name); // 429 past the namespace's invocationsPerMinute
    const now = new Date();
    const record: ActivationRecord = {
      ...pendingRecord({
        id: newActivationId(),
        functionName: fn.name,
        functionVersion: fn.version,
        engine: fn.config.engine,
        trigger,
        status: 'queued',
        createdAt: now.toISOString(),
      }),
      ...(alias ? { alias } : {}),
      ...(chainDepth ? { chainDepth } : {}),
    };
    const publishAfter = this.outbox.publishAfter(now.getTime());
    const accepted = await this.store.enqueue(
      record,
      {
        activationId: record.id,
        functionName: fn.name,
        input,
        attempts: 0,
        maxAttempts: this.config.asyncRetries + 1,
        runAt: now.getTime(),
        idempotencyKey: idempotencyKey ?? null,
        state: 'pending',
      },
      publishAfter,
    );
    if (!accepted.duplicate)
      await this.publish(
        record,
        accepted.activationId,
        { fn: fn.name, slots: slotsOf(fn.config) },
        publishAfter !== null,
      );
    else await this.retryRejected(accepted.activationId);
    return accepted;
  }

  /**
   * Puts an accepted invocation on the bus. When the bus does not acknowledge,
   * the caller gets the error (503) and the stored invocation is marked as not
   * accepted, so that a message that did reach the queue is skipped (a relay
   * then removes its outbox row instead of publishing it).
   */
  private async publish(
    record: ActivationRecord,
    messageId: string,
    hint?: { fn: string; slots: number },
    rowed = true,
  ): Promise<void> {
    try {
      await this.outbox.publish(record.id, messageId, 0, hint, rowed);
    } catch (e) {
      const error = { code: 'unavailable', message: `${NOT_ACCEPTED}: ${(e as Error).message}` };
      await this.store
        .putActivation({ ...record, status: 'error', error, endedAt: new Date().toISOString() })
        .catch(() => undefined);
      await this.store.updateQueueEntry(record.id, { state: 'done' }).catch(() => undefined);
      throw isNimbusError(e) ? e : new NimbusError('unavailable', error.message);
    }
  }

  /** A retry (same idempotency key) of an invocation the bus did not acknowledge: queue it again. */
  private async retryRejected(id: string): Promise<void> {
    const record = await this.store.getActivation(id);
    if (
      !record ||
      record.status !== 'error' ||
      record.attempts !== 0 ||
      !record.error?.message.startsWith(NOT_ACCEPTED)
    )
      return;
    const revived: ActivationRecord = { ...record, status: 'queued', error: null, endedAt: null };
    // A new message id: the bus may still remember the first one (and drop it). The outbox row
    // first, so that once the entry is pending again a relay queues it even if this process stops.
    const messageId = `${id}-${Date.now().toString(36)}`;
    const publishAfter = this.outbox.publishAfter();
    await this.store.putActivation(revived);
    if (publishAfter !== null) await this.store.putOutbox(id, messageId, publishAfter);
    await this.store.updateQueueEntry(id, { state: 'pending', runAt: Date.now() });
    await this.publish(revived, messageId, undefined, publishAfter !== null);
  }

  private async handle(message: QueueMessage): Promise<void> {
    const parsed = AsyncMessage.safeParse(message.data);
    if (!parsed.success) return this.log(`dropping malformed async message ${message.id}`);
    const { activationId: id, fn: name, slots } = parsed.data;
    if (!this.gate) return this.work(message, id);
    let leave;
    if (name !== undefined && slots !== undefined) leave = await this.gate.work(name, slots);
    else {
      // Published by a relay (outbox.ts) from a row that names only the activation: read what the gate needs.
      const entry = await this.store.getQueueEntry(id);
      if (!entry || entry.state === 'done') return;
      const current = await this.store.getFunction(entry.functionName);
      leave = await this.gate.work(entry.functionName, current ? slotsOf(current.config) : 1);
    }
    try {
      return await this.work(message, id);
    } finally {
      leave();
    }
  }

  private async work(message: QueueMessage, id: string): Promise<void> {
    const { entry, record: queued } = (await this.store.getQueuedRun(id)) ?? {};
    if (!entry || entry.state === 'done' || !queued) return;
    const fn = await (this.versions ?? ((n, v) => this.store.getVersion(n, v)))(
      entry.functionName,
      queued.functionVersion,
    );
    if (!fn)
      return this.end(
        queued,
        {
          code: 'not_found',
          message: `function ${entry.functionName} version ${queued.functionVersion} was deleted before it ran`,
        },
        'error',
      );
    // Over its namespace's share of slots for webhook destinations: put back before it runs (webhook-share.ts).
    const release = this.webhooks.take(fn);
    if (!release) {
      const delay = platformRetryMs(message.deliveries);
      await this.store.updateQueueEntry(id, { runAt: Date.now() + delay });
      throw new Redeliver(delay, `namespace of ${fn.name} holds its share of queue slots for webhook destinations`);
    }
    try {
      return await this.runAndDestine(message, entry, queued, fn);
    } finally {
      release();
    }
  }

  private async runAndDestine(
    message: QueueMessage,
    entry: QueueEntry,
    queued: ActivationRecord,
    fn: VersionRecord,
  ): Promise<void> {
    const id = queued.id;
    const attempt = entry.attempts + 1;
    // A record of this attempt means an earlier delivery ran it and its outcome was
    // stored, but the queue entry did not move on: use it, do not run again.
    const reply =
      queued.attempts >= attempt
        ? { activation: queued }
        : await this.dispatch(fn, entry, queued, attempt, message.deliveries);
    const record = reply.activation;
    const failed = record.error && FUNCTION_FAILURES.has(record.error.code as ErrorCode);
    if (!failed) return this.settle(record, { attempts: attempt, state: 'done' }, fn);
    if (attempt < entry.maxAttempts) {
      const delay = this.config.asyncRetryBaseMs * 2 ** (attempt - 1);
      await this.settle({ ...record, status: 'queued' }, { attempts: attempt, runAt: Date.now() + delay });
      throw new Redeliver(delay, `attempt ${attempt} failed`);
    }
    this.log(`async activation ${id} of ${fn.name} is dead-lettered after ${attempt} attempts`, {
      error: record.error,
    });
    await this.end(record, record.error, 'dead_letter', fn);
  }

  /**
   * Stores an attempt's record and moves its queue entry on. Without a
   * destination both go in one commit: the store lands a queue change after
   * the records written before it, so neither waits for the other. With one,
   * the record is stored first and handed to the destination before the entry
   * is done: a crash in between delivers again, deduped.
   */
  private async settle(record: ActivationRecord, change: QueueChange, fn?: VersionRecord): Promise<void> {
    if (this.compose && fn?.config.destinations) {
      await this.store.putActivation(record);
      await this.destine(fn, record);
      return this.store.updateQueueEntry(record.id, change);
    }
    await Promise.all([this.store.putActivation(record), this.store.updateQueueEntry(record.id, change)]);
  }

  /** Hands an ended record to its function's destination (compose/). */
  private async destine(fn: VersionRecord, record: ActivationRecord): Promise<void> {
    await this.compose
      ?.afterAsync(fn.config, record)
      .catch((e: unknown) =>
        this.log(`could not deliver activation ${record.id} to its destination: ${(e as Error).message}`),
      );
  }

  private async dispatch(
    fn: VersionRecord,
    entry: QueueEntry,
    queued: ActivationRecord,
    attempt: number,
    deliveries: number,
  ): Promise<{ activation: ActivationRecord }> {
    const leave = await this.gate?.run(fn.name, slotsOf(fn.config));
    try {
      const run = (req: RunRequest, timeoutMs: number) =>
        this.compose ? this.compose.run(fn, req, timeoutMs) : this.dispatcher.run(req, timeoutMs);
      return await run(
        {
          activationId: queued.id,
          functionName: fn.name,
          functionVersion: fn.version,
          trigger: queued.trigger,
          input: entry.input as InvokeInput,
          acceptedAt: Date.parse(queued.createdAt),
          attempt,
          retryable: attempt < entry.maxAttempts,
          createdAt: queued.createdAt,
          ...(queued.alias ? { alias: queued.alias, pinned: true } : {}),
          ...(queued.chainDepth ? { chainDepth: queued.chainDepth } : {}),
          // The outcome is stored with the queue change (settle): one commit, not two.
          callerRecords: true,
        },
        fn.config.timeoutMs,
      );
    } catch (e) {
      if (isNimbusError(e) && (e.code === 'throttled' || e.code === 'unavailable')) {
        const delay = platformRetryMs(deliveries);
        await this.store.updateQueueEntry(queued.id, { runAt: Date.now() + delay });
        throw new Redeliver(delay, e.message);
      }
      throw e;
    } finally {
      leave?.();
    }
  }

  /** The bus gave up on this message (delivered too often without completing). */
  private async deadLetter(message: QueueMessage): Promise<void> {
    const parsed = AsyncMessage.safeParse(message.data);
    if (!parsed.success) return;
    const id = parsed.data.activationId;
    const { entry, record } = (await this.store.getQueuedRun(id)) ?? {};
    if (!entry || entry.state === 'done' || !record) return;
    this.log(`async activation ${id} is dead-lettered: delivered ${message.deliveries} times without completing`);
    const error = {
      code: 'unavailable',
      message: `delivered ${message.deliveries} times without completing (invokers crashed or could not take it); moved to the dead-letter queue`,
    };
    await this.end(
      record,
      error,
      'dead_letter',
      await this.store.getVersion(entry.functionName, record.functionVersion),
    );
  }

  private async end(
    record: ActivationRecord,
    error: ActivationRecord['error'],
    status: 'error' | 'dead_letter',
    fn?: VersionRecord,
  ): Promise<void> {
    const ended = { ...record, status, error, endedAt: record.endedAt ?? new Date().toISOString() };
    await this.settle(ended, { state: 'done' }, fn);
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    await this.outbox.stop();
  }
}
