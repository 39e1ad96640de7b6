// Event sources on a front end: the trigger API's logic (create, read, delete,
// each inside the caller's namespace), topic publishing, the guard that keeps a
// function a trigger uses from being deleted, and the cron ticker with its
// leadership. platform.ts starts one per front end; routes call it.
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import type { NimbusConfig } from '../config/options.ts';
import type { AsyncScheduler } from '../scheduler/async-scheduler.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';
import type { Store } from '../storage/store.ts';
import { qualify, splitQualified } from '../tenancy/names.ts';
import { CronTicker, MISSED_GRACE_MS } from './cron-ticker.ts';
import { PgLeadership, soleLeader, type Leadership } from './cron-leader.ts';
import { Firer, type ResolveTarget } from './fire.ts';
import { TopicIndex, publish, type Published } from './topics.ts';
import { announceTriggerChange, onTriggerChanged } from './trigger-events.ts';
import { TRIGGER_NAME, compileSchedule, splitRef, type TriggerSpec } from './trigger-spec.ts';
import { TriggerStore, type TriggerRecord } from './trigger-store.ts';

type Log = (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;

export interface EventsOptions {
  store: Store;
  bus: Bus;
  scheduler: AsyncScheduler;
  config: NimbusConfig;
  log: Log;
  /** Resolves `name`, `name:N` and `name:alias` in a namespace, when a trigger is made and each time it fires. */
  resolve: ResolveTarget;
}

/** A trigger as the API shows it. */
export function describeTrigger(t: TriggerRecord): Record<string, unknown> {
  return { name: t.name, namespace: t.namespace, ...t.spec, createdAt: t.createdAt, updatedAt: t.updatedAt };
}

export class EventsService {
  private readonly triggers: TriggerStore;
  private readonly firer: Firer;
  private readonly index: TopicIndex;
  private readonly ticker: CronTicker;
  private leadership: Leadership = soleLeader;
  private unlisten?: Unsubscribe;

  private constructor(private readonly o: EventsOptions) {
    this.triggers = new TriggerStore(o.store.sql);
    this.firer = new Firer(o.scheduler, o.resolve);
    this.index = new TopicIndex(this.triggers);
    this.ticker = new CronTicker(this.triggers, this.firer, () => this.leadership.isLeader(), o.log);
  }

  static async start(o: EventsOptions): Promise<EventsService> {
    const s = new EventsService(o);
    await s.index.reload();
    s.unlisten = await onTriggerChanged(o.bus, async () => {
      s.ticker.invalidate();
      await s.index.reload();
    });
    // A shared store means other front ends: one of them, the lock holder, fires cron ticks.
    if (/^postgres(ql)?:\/\//.test(o.config.store))
      s.leadership = PgLeadership.start(o.config.store, () => s.ticker.invalidate(), o.log);
    s.ticker.start();
    return s;
  }

  async put(namespace: string, name: string, spec: TriggerSpec): Promise<{ created: boolean; trigger: TriggerRecord }> {
    checkTriggerName(name);
    if (spec.type === 'cron') compileSchedule(spec);
    const { base } = splitRef(spec.function);
    try {
      await this.firer.resolve(namespace, spec.function);
    } catch (e) {
      if (!isNimbusError(e) || e.code !== 'not_found') throw e;
      throw new NimbusError(
        'bad_request',
        `trigger "${name}" names function "${spec.function}", which does not exist (${e.message}); deploy it first with PUT /v1/functions/${base}`,
      );
    }
    const { created, record } = await this.triggers.put(namespace, name, spec, qualify(namespace, base), Date.now());
    await this.changed(namespace, name);
    return { created, trigger: record };
  }

  async get(namespace: string, name: string): Promise<TriggerRecord> {
    checkTriggerName(name);
    const t = await this.triggers.get(namespace, name);
    if (!t) throw notFound(name);
    return t;
  }

  /** A cron trigger's schedule as it stands: the last tick fired (null before the first) and the next one. */
  async schedule(t: TriggerRecord): Promise<{ lastTick: string | null; nextTick: string | null } | undefined> {
    if (t.spec.type !== 'cron') return undefined;
    const last = await this.triggers.lastTick(t.namespace, t.name);
    if (last === undefined) return undefined;
    const fired = last > Date.parse(t.updatedAt);
    const next = compileSchedule(t.spec).nextRun(new Date(Math.max(last, Date.now() - MISSED_GRACE_MS)));
    return { lastTick: fired ? new Date(last).toISOString() : null, nextTick: next?.toISOString() ?? null };
  }

  list(namespace: string): Promise<TriggerRecord[]> {
    return this.triggers.list(namespace);
  }

  async delete(namespace: string, name: string): Promise<void> {
    checkTriggerName(name);
    if (!(await this.triggers.delete(namespace, name))) throw notFound(name);
    await this.changed(namespace, name);
  }

  /**
   * Before a function is deleted: 409 naming the triggers that start it, or
   * with `force` their deletion (they would fire at nothing).
   */
  async beforeFunctionDelete(functionName: string, force: boolean): Promise<void> {
    const users = await this.triggers.usedBy(functionName);
    if (!users.length) return;
    const names = users.map((t) => `"${t.name}"`).join(', ');
    if (!force) {
      const { name } = splitQualified(functionName);
      throw new NimbusError(
        'conflict',
        `function "${name}" is used by trigger${users.length > 1 ? 's' : ''} ${names}; delete them first, or delete with ?force=1 to delete them too`,
      );
    }
    await this.triggers.deleteUsedBy(functionName);
    for (const t of users) await this.changed(t.namespace, t.name);
  }

  publish(
    namespace: string,
    topic: string,
    event: unknown,
    idempotencyKey?: string,
    chainDepth?: number,
  ): Promise<Published> {
    return publish(this.index, this.firer, namespace, topic, event, idempotencyKey, chainDepth);
  }

  /** This front end sees its own change before it answers; the others hear of it over the bus. */
  private async changed(namespace: string, name: string): Promise<void> {
    this.ticker.invalidate();
    await this.index.reload();
    await announceTriggerChange(this.o.bus, { namespace, name }).catch((e: unknown) =>
      this.o.log('warn', `could not tell other front ends that trigger ${name} changed`, { err: e }),
    );
  }

  async close(): Promise<void> {
    await this.unlisten?.();
    await this.ticker.stop();
    await this.leadership.close();
    this.index.close();
  }
}

function checkTriggerName(name: string): void {
  if (!TRIGGER_NAME.test(name))
    throw new NimbusError(
      'bad_request',
      `invalid trigger name "${name.slice(0, 80)}": use 1-64 letters, digits, "-" or "_", starting with a letter`,
    );
}

const notFound = (name: string) =>
  new NimbusError('not_found', `trigger "${name}" does not exist; see GET /v1/triggers for this namespace's triggers`);
