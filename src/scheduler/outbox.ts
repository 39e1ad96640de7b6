// The async outbox: the one place that puts stored async invocations on the
// bus. Accepting an invocation writes an outbox row with its queue entry (one
// transaction); once the bus acknowledges the message the row is removed, in
// batches. A front end killed between its commit and the bus's ack (a stalled
// broker, then kill -9) leaves the row behind, and every process that
// consumes the queue sweeps such rows once they are older than a publish can
// take and publishes them under the row's message id: the bus drops a repeat
// of an id it already holds, so a message that did arrive does not run twice.
// A bus that keeps nothing across a restart (embedded) is given every pending
// entry again at start, so there an accept writes no row at all: the bus lives
// in this process, and the replay at start covers a stop between commit and
// publish (an insert and a delete fewer per accepted call).
import type { Bus } from '../bus/bus.ts';
import { ASYNC_QUEUE } from '../engine/messages.ts';
import type { Store } from '../storage/store.ts';

export interface OutboxTiming {
  /** How long a row waits for its own publisher before a relay publishes it, ms: longer than a bus publish may take (NATS: 5 s). */
  graceMs: number;
  /** Between sweeps, ms. */
  sweepMs: number;
  /** A row a relay claimed is claimable again after this long (that relay died), ms. */
  leaseMs: number;
}

export const OUTBOX_TIMING: OutboxTiming = { graceMs: 10_000, sweepMs: 2000, leaseMs: 30_000 };
/** Rows claimed at once, and claims per sweep: a sweep publishes at most CLAIM_BATCH * CLAIMS_PER_SWEEP. */
const CLAIM_BATCH = 200;
const CLAIMS_PER_SWEEP = 10;
/** Acknowledged rows are removed together, this long after the first of them (or at CONFIRM_BATCH rows). */
const CONFIRM_DELAY_MS = 50;
const CONFIRM_BATCH = 500;

type Log = (msg: string, extra?: Record<string, unknown>) => void;

export class Outbox {
  private confirmed: string[] = [];
  private confirmTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  /** The removals under way (a flush waits for them too). */
  private clearing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly log: Log,
    readonly timing: OutboxTiming = OUTBOX_TIMING,
  ) {}

  /**
   * When a row written now is left to the relays if its publisher has not removed it; null (no row)
   * for a bus that keeps nothing across a restart: that is given every pending entry at start
   * anyway, and lives in this process, so no other process could relay the row.
   */
  publishAfter(now = Date.now()): number | null {
    return this.bus.durable ? now + this.timing.graceMs : null;
  }

  /**
   * Puts an entry's message on the bus; once the bus holds it, the entry's outbox row is removed (soon, with others).
   * `hint` (the function and its sandbox slots) lets the consumer gate the run without reading the entry first.
   * `rowed`: false when the entry was stored without a row (publishAfter null), so there is none to remove.
   */
  async publish(
    activationId: string,
    messageId: string,
    delayMs = 0,
    hint?: { fn: string; slots: number },
    rowed = true,
  ): Promise<void> {
    await this.bus.enqueue(ASYNC_QUEUE, messageId, hint ? { activationId, ...hint } : { activationId }, delayMs);
    if (!rowed) return;
    this.confirmed.push(activationId);
    if (this.confirmed.length >= CONFIRM_BATCH) void this.flush();
    else this.confirmTimer ??= setTimeout(() => void this.flush(), CONFIRM_DELAY_MS).unref();
  }

  /**
   * Removes the rows of acknowledged messages, those a flush already under way removes included.
   * A row left by a failure is published again later; the bus drops the repeat.
   */
  async flush(): Promise<void> {
    clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    const ids = this.confirmed;
    this.confirmed = [];
    const earlier = this.clearing;
    if (ids.length === 0) return earlier;
    const clearing = this.store
      .clearOutbox(ids)
      .catch((e: unknown) =>
        this.log(
          `could not remove ${ids.length} outbox rows of queued messages; they will be published again and dropped as repeats`,
          { err: String(e) },
        ),
      );
    this.clearing = Promise.all([earlier, clearing]).then(() => undefined);
    return this.clearing;
  }

  /** Relays from this process: every pending entry now if the bus lost its queue, then a sweep every `sweepMs`. */
  async start(): Promise<void> {
    if (!this.bus.durable) {
      const pending = await this.store.pendingQueue();
      for (const e of pending) await this.publish(e.activationId, e.activationId, Math.max(0, e.runAt - Date.now()));
      if (pending.length) this.log(`re-queued ${pending.length} pending async invocations`);
    }
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(
          () => undefined,
          (e: unknown) => this.log('outbox sweep failed; trying again at the next one', { err: String(e) }),
        )
        .finally(() => (this.sweeping = undefined));
    }, this.timing.sweepMs);
    this.sweepTimer.unref();
  }

  /**
   * Publishes the messages of rows left longer than the grace; removes rows
   * whose entry is no longer pending. A publish the bus refuses ends the
   * sweep: the rows claimed and not published come back after the lease.
   */
  async sweep(): Promise<number> {
    let published = 0;
    for (let round = 0; round < CLAIMS_PER_SWEEP; round++) {
      const now = Date.now();
      const claims = await this.store.claimOutbox(now, now + this.timing.leaseMs, CLAIM_BATCH);
      const finished = claims.filter((c) => c.state !== 'pending').map((c) => c.activationId);
      await this.store.clearOutbox(finished);
      for (const c of claims) {
        if (c.state !== 'pending') continue;
        await this.publish(c.activationId, c.messageId, Math.max(0, (c.runAt ?? now) - Date.now()));
        published++;
      }
      if (claims.length < CLAIM_BATCH) break;
    }
    if (published)
      this.log(
        `published ${published} async invocations whose front end stored them but did not get them queued (it stopped or the bus did not answer)`,
      );
    return published;
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping;
    await this.flush();
  }
}
