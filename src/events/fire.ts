// How a trigger starts its function: the function it names (a name, `name:3`
// or `name:alias`, resolved when it fires, so a redeploy or an alias move is
// seen by the next tick or message) gets one durable async activation through
// the scheduler's accept, under an idempotency key that makes a repeat of the
// same tick or message store nothing new.
import type { AsyncScheduler, AsyncTrigger } from '../scheduler/async-scheduler.ts';
import type { VersionRecord } from '../storage/store.ts';

/**
 * Finds the version a reference names in a namespace (not_found when there is
 * none), and the alias it came through. platform.ts passes the resolver every
 * caller by name uses (frontend/targets.ts), so triggers see aliases and their
 * canary weights as invokes do.
 */
export type ResolveTarget = (namespace: string, ref: string) => Promise<{ version: VersionRecord; alias?: string }>;

/**
 * The idempotency key of a trigger's activation. Its parts are joined by a
 * newline, which no HTTP header can carry: an API caller's Idempotency-Key can
 * never take a tick's or a message's key and so keep it from running.
 */
export const eventKey = (...parts: string[]) => parts.join('\n');

export interface Firing {
  namespace: string;
  /** The trigger's function reference as stored. */
  ref: string;
  event: unknown;
  /** Same key, same activation: a tick or message fired twice is stored once. */
  idempotencyKey: string;
  trigger: AsyncTrigger;
  /** Destination hops that led to this firing (a topic destination), carried to the activation. */
  chainDepth?: number;
}

export class Firer {
  constructor(
    private readonly scheduler: AsyncScheduler,
    readonly resolve: ResolveTarget,
  ) {}

  async fire(f: Firing): Promise<{ activationId: string; duplicate: boolean }> {
    const { version, alias } = await this.resolve(f.namespace, f.ref);
    return this.scheduler.accept(
      version,
      { kind: 'event', event: f.event },
      f.idempotencyKey,
      f.trigger,
      alias,
      f.chainDepth,
    );
  }
}
