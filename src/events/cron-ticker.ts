// The cron ticker: while this process leads (cron-leader.ts), it fires every
// cron trigger's due ticks, each as one async activation, and moves the
// trigger's cron_state on past it. Exactly once per tick: a tick's activation
// carries an idempotency key made of the trigger and the tick's time, so a tick fired
// again (a crash between storing it and moving the state on, a leader killed
// mid-tick and replaced) is stored once. Ticks missed while no leader ran are
// fired late when they are at most MISSED_GRACE_MS old (a restart, a leader
// hand-over); older ones are skipped unless the trigger asks for catchUp.
import type { Cron } from 'croner';
import { isNimbusError } from '../shared/errors.ts';
import { eventKey, type Firer } from './fire.ts';
import { compileSchedule, type CronSpec } from './trigger-spec.ts';
import type { TriggerRecord, TriggerStore } from './trigger-store.ts';

/** How old a missed tick may be and still fire without catchUp. */
export const MISSED_GRACE_MS = 30_000;
/** With catchUp, at most this many missed ticks fire (the newest ones). */
export const MAX_CATCH_UP = 1000;
/** The longest the ticker sleeps, so that a lost lead or a broken store is noticed soon. */
const MAX_SLEEP_MS = 1000;
/** How often the leader reads the triggers again anyway, in case a change broadcast was missed. */
const RELOAD_MS = 30_000;

interface Scheduled {
  record: TriggerRecord;
  spec: CronSpec;
  cron: Cron;
  lastTick: number;
}

type Log = (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;

export class CronTicker {
  private scheduled: Scheduled[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stale = true;
  private loadedAt = 0;
  private stopped = false;

  constructor(
    private readonly store: TriggerStore,
    private readonly firer: Firer,
    private readonly isLeader: () => boolean,
    private readonly log: Log,
  ) {}

  start(): void {
    this.wake(0);
  }

  /** Triggers changed (or this process just became the leader): read them and their state again before the next tick. */
  invalidate(): void {
    this.stale = true;
    this.wake(0);
  }

  private wake(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), ms);
  }

  private async pass(): Promise<void> {
    if (this.running) return; // the running pass schedules the next one
    let sleep = MAX_SLEEP_MS;
    this.running = (async () => {
      if (!this.isLeader()) {
        this.stale = true; // another leader moves the state on meanwhile
        return;
      }
      if (this.stale || Date.now() - this.loadedAt > RELOAD_MS) await this.load();
      const now = Date.now();
      for (const s of this.scheduled) {
        const next = await this.fireDue(s, now);
        if (next !== null) sleep = Math.min(sleep, Math.max(5, next - Date.now()));
      }
    })().catch((e: unknown) => {
      this.stale = true;
      this.log('warn', `cron ticker: ${(e as Error).message}; retrying`, { err: e });
    });
    await this.running;
    this.running = undefined;
    this.wake(sleep);
  }

  private async load(): Promise<void> {
    const next: Scheduled[] = [];
    for (const { record, lastTick } of await this.store.cronSchedules()) {
      if (record.spec.type !== 'cron') continue;
      try {
        next.push({ record, spec: record.spec, cron: compileSchedule(record.spec), lastTick });
      } catch (e) {
        this.log(
          'warn',
          `cron trigger ${record.namespace}/${record.name} cannot be scheduled: ${(e as Error).message}`,
        );
      }
    }
    this.scheduled = next;
    this.stale = false;
    this.loadedAt = Date.now();
  }

  /** Fires a trigger's due ticks in order; returns when its next tick is due (ms), null for none. */
  private async fireDue(s: Scheduled, now: number): Promise<number | null> {
    let from = s.lastTick;
    const first = s.cron.nextRun(new Date(from));
    if (first && first.getTime() < now - MISSED_GRACE_MS) {
      // Ticks missed for longer than a hand-over: skip them, or with catchUp keep the newest MAX_CATCH_UP.
      const oldest = s.spec.catchUp
        ? (s.cron.previousRuns(MAX_CATCH_UP, new Date(now)).at(-1)?.getTime() ?? now)
        : now - MISSED_GRACE_MS;
      if (oldest - 1 > from) {
        this.log(
          'info',
          `cron trigger ${s.record.namespace}/${s.record.name}: skipping ticks missed before ${new Date(oldest).toISOString()}`,
        );
        from = oldest - 1;
      }
    }
    for (let tick = s.cron.nextRun(new Date(from)); tick; tick = s.cron.nextRun(tick)) {
      if (tick.getTime() > now) return tick.getTime();
      if (!(await this.fireTick(s, tick))) return now + MAX_SLEEP_MS;
      if (!this.isLeader()) return null;
    }
    return null;
  }

  /** One tick: its activation, then the state moved on. False when the store or bus is down (try again later). */
  private async fireTick(s: Scheduled, tick: Date): Promise<boolean> {
    const { namespace, name } = s.record;
    const scheduledTime = tick.toISOString();
    try {
      await this.firer.fire({
        namespace,
        ref: s.spec.function,
        event: { ...s.spec.event, trigger: name, scheduledTime },
        idempotencyKey: eventKey('cron', name, scheduledTime),
        trigger: 'cron',
      });
    } catch (e) {
      if (isNimbusError(e) && (e.code === 'unavailable' || e.code === 'throttled')) return false;
      // A target that does not resolve (deleted version, unknown alias) loses this tick, not the schedule.
      this.log(
        'warn',
        `cron trigger ${namespace}/${name} could not fire its ${scheduledTime} tick: ${(e as Error).message}`,
      );
    }
    await this.store.advance(namespace, name, tick.getTime());
    s.lastTick = tick.getTime();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
