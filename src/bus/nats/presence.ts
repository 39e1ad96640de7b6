// Presence in a JetStream KV bucket: one key per invoker, rewritten every
// heartbeat; the bucket's TTL (max age) removes entries nobody rewrites. A
// watcher learns of puts and deletes as they happen and, since expiry makes no
// event, drops an invoker it has not heard from for a TTL by its own clock
// (never comparing clocks across hosts). While this process is cut off from
// NATS nobody is dropped; on reconnect everyone gets a fresh TTL.
import { Kvm, type KV } from '@nats-io/kv';
import { StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { Heartbeat, type Load, type Presence, type PresenceEvents } from '../presence.ts';
import { decode } from './codec.ts';

export interface NatsPresenceDeps {
  js: JetStreamClient;
  bucket: string;
  intervalMs: number;
  ttlMs: number;
  replicas: number;
  connected: () => boolean;
  /** Called with a function to run after each reconnect. */
  onReconnect: (fn: () => void) => void;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

export class NatsPresence implements Presence {
  private kvPromise?: Promise<KV>;
  private readonly stops = new Set<() => Promise<void>>();

  constructor(private readonly d: NatsPresenceDeps) {}

  get intervalMs(): number {
    return this.d.intervalMs;
  }

  get ttlMs(): number {
    return this.d.ttlMs;
  }

  private kv(): Promise<KV> {
    this.kvPromise ??= new Kvm(this.d.js)
      .create(this.d.bucket, { ttl: this.d.ttlMs, history: 1, storage: StorageType.File, replicas: this.d.replicas })
      .catch((e: unknown) => {
        this.kvPromise = undefined;
        throw e;
      });
    return this.kvPromise;
  }

  async announce(identity: Omit<Heartbeat, 'inflight' | 'slots'>, load: () => Load): Promise<() => Promise<void>> {
    const kv = await this.kv();
    const beat = async () => {
      const hb: Heartbeat = Heartbeat.parse({ ...identity, ...load() });
      await kv.put(hb.id, JSON.stringify(hb));
    };
    await beat();
    let busy = false;
    const timer = setInterval(() => {
      if (busy || !this.d.connected()) return;
      busy = true;
      beat()
        .catch((e: unknown) => this.d.log('heartbeat failed', { err: String(e) }))
        .finally(() => (busy = false));
    }, this.d.intervalMs);
    const stop = async () => {
      this.stops.delete(stop);
      clearInterval(timer);
      await kv.delete(identity.id).catch(() => undefined);
    };
    this.stops.add(stop);
    return stop;
  }

  async watch(events: PresenceEvents): Promise<() => Promise<void>> {
    const kv = await this.kv();
    const lastSeen = new Map<string, number>();
    let stopped = false;
    let iterator: Awaited<ReturnType<KV['watch']>> | undefined;
    const leave = (id: string, why: string) => {
      if (lastSeen.delete(id)) events.left(id, why);
    };
    const run = async () => {
      while (!stopped) {
        try {
          iterator = await kv.watch({ key: '>' });
          for await (const e of iterator) {
            if (e.operation !== 'PUT') {
              leave(e.key, 'it said goodbye');
              continue;
            }
            const hb = Heartbeat.safeParse(decode(e.value, 'a heartbeat'));
            if (!hb.success || hb.data.id !== e.key) continue;
            lastSeen.set(e.key, Date.now());
            events.seen(hb.data);
          }
        } catch (e) {
          if (!stopped) this.d.log('presence watch failed; restarting', { err: String(e) });
        }
        if (!stopped) await new Promise((r) => setTimeout(r, this.d.intervalMs));
      }
    };
    const loop = run();
    this.d.onReconnect(() => {
      for (const id of lastSeen.keys()) lastSeen.set(id, Date.now());
    });
    const sweeper = setInterval(
      () => {
        if (!this.d.connected()) return;
        const now = Date.now();
        for (const [id, at] of lastSeen) if (now - at > this.d.ttlMs) leave(id, `no heartbeat for ${now - at} ms`);
      },
      Math.max(100, Math.floor(this.d.intervalMs / 2)),
    );
    const stop = async () => {
      this.stops.delete(stop);
      stopped = true;
      clearInterval(sweeper);
      iterator?.stop();
      await loop;
    };
    this.stops.add(stop);
    return stop;
  }

  /** Stops every heartbeat (with its goodbye) and every watch. */
  async close(): Promise<void> {
    await Promise.all([...this.stops].map((s) => s()));
  }
}
