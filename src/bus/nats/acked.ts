// Acknowledged broadcasts on NATS: a broadcast that resolves once every live
// listener has handled it (cache invalidation that must hold before a deploy
// answers). Listeners make themselves known on `<subject>.members` every
// MEMBER_BEAT_MS (and at once when they start or meet a new member); a member
// not heard from for MEMBER_TTL_MS is no longer waited for. The broadcast goes
// out with a reply inbox; each listener answers with its id after its handler.
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import type { AckReport, Unsubscribe } from '../bus.ts';
import { decode, encode } from './codec.ts';

export const MEMBER_BEAT_MS = 1000;
export const MEMBER_TTL_MS = 3500;

type Log = (msg: string, extra?: Record<string, unknown>) => void;

/** The `id` a hello or an acknowledgement carries; anything else (not JSON, no id) is ignored, never thrown in a callback. */
function idOf(bytes: Uint8Array): string | undefined {
  try {
    const id = (decode(bytes, 'a member message') as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length <= 100 ? id : undefined;
  } catch {
    return undefined;
  }
}

export class AckedBroadcasts {
  /** This process's id as a listener. */
  readonly id = `m-${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Per subject: members by id, with when each was last heard from (this process's clock). */
  private readonly members = new Map<string, Map<string, number>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Log,
  ) {}

  async listen(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe> {
    const seen = this.members.get(subject) ?? new Map<string, number>();
    this.members.set(subject, seen);
    const hello = () => this.nc.publish(`${subject}.members`, encode({ id: this.id }));
    const beats = this.nc.subscribe(`${subject}.members`, {
      callback: (err, msg) => {
        if (err) return;
        const id = idOf(msg.data);
        if (id === undefined) return;
        const known = seen.has(id);
        seen.set(id, Date.now());
        if (!known && id !== this.id) hello(); // a new member learns of this one at once
      },
    });
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        void (async () => {
          try {
            await handler(decode(msg.data, `a broadcast on ${subject}`));
          } catch (e) {
            this.log('acknowledged broadcast handler failed', { subject, err: String(e) });
            return; // no acknowledgement: the sender reports this member as missing
          }
          if (msg.reply) msg.respond(encode({ id: this.id }));
        })();
      },
    });
    hello();
    const timer = setInterval(hello, MEMBER_BEAT_MS);
    timer.unref();
    await this.nc.flush();
    return async () => {
      clearInterval(timer);
      sub.unsubscribe();
      beats.unsubscribe();
      this.members.delete(subject);
    };
  }

  /** Sends `data` and waits until every member heard from within MEMBER_TTL_MS answered, or `timeoutMs`. */
  async broadcast(subject: string, data: unknown, timeoutMs: number): Promise<AckReport> {
    const now = Date.now();
    const expected = new Set(
      [...(this.members.get(subject) ?? new Map<string, number>())]
        .filter(([, at]) => now - at <= MEMBER_TTL_MS)
        .map(([id]) => id),
    );
    const inbox = createInbox();
    const acked = new Set<string>();
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const sub = this.nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err) return;
        const id = idOf(msg.data);
        if (id === undefined) return;
        acked.add(id);
        if ([...expected].every((m) => acked.has(m))) done();
      },
    });
    if (expected.size === 0) done();
    const timer = setTimeout(done, timeoutMs);
    try {
      this.nc.publish(subject, encode(data), { reply: inbox });
      // Not awaited on its own: a stalled server must not hold the caller past timeoutMs.
      this.nc.flush().catch(() => undefined);
      await all;
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
    return { acked: acked.size, missing: [...expected].filter((m) => !acked.has(m)) };
  }
}
