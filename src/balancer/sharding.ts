// The cluster balancer, after OpenWhisk's sharding balancer: each function has
// a home invoker on a consistent-hash ring of the live invokers (so its warm
// sandboxes stay warm); when the home is full (runs in flight ≥ its slots) the
// run overflows to the least-loaded live invoker with a free slot; when all are
// full it goes home and waits in that invoker's queue. Load is the larger of
// what the invoker last reported in its heartbeat and what this process has
// in flight there. An invoker that failed to answer is avoided for a while;
// one that leaves the pool aborts the runs waiting on it.
import type { Heartbeat, Presence } from '../bus/presence.ts';
import { NimbusError } from '../shared/errors.ts';
import type { Balancer } from './balancer.ts';
import { HashRing } from './hash-ring.ts';

export interface InvokerLoad {
  id: string;
  slots: number;
  inflight: number;
}

/** Pure choice: home if it has a free slot, else the least-loaded one with a free slot (ring order breaks ties), else home. */
export function chooseInvoker(ring: HashRing, live: ReadonlyMap<string, InvokerLoad>, key: string): string | undefined {
  const order = ring.walk(key).filter((id) => live.has(id));
  const home = order[0];
  if (home === undefined) return undefined;
  const load = (id: string) => {
    const v = live.get(id);
    return v ? v.inflight / v.slots : Infinity;
  };
  const free = (id: string) => {
    const v = live.get(id);
    return v !== undefined && v.inflight < v.slots;
  };
  if (free(home)) return home;
  let best: string | undefined;
  for (const id of order.slice(1)) if (free(id) && (best === undefined || load(id) < load(best))) best = id;
  return best ?? home;
}

export interface ShardingOptions {
  /** How long an invoker that failed to answer is avoided, ms. */
  suspectMs?: number;
  /** How long pick() waits for a first invoker to appear, ms. */
  waitMs?: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export class ShardingBalancer implements Balancer {
  private readonly ring = new HashRing();
  private readonly reported = new Map<string, Heartbeat>();
  private readonly local = new Map<string, number>();
  private readonly suspects = new Map<string, number>();
  private readonly departures = new Map<string, AbortController>();
  private readonly waiters = new Set<() => void>();
  private unwatch?: () => Promise<void>;

  private constructor(
    private readonly presence: Presence,
    private readonly options: ShardingOptions,
  ) {}

  static async create(presence: Presence, options: ShardingOptions = {}): Promise<ShardingBalancer> {
    const b = new ShardingBalancer(presence, options);
    b.unwatch = await presence.watch({ seen: (hb) => b.seen(hb), left: (id, why) => b.left(id, why) });
    return b;
  }

  private seen(hb: Heartbeat): void {
    if (!this.ring.has(hb.id)) this.options.log?.(`invoker ${hb.id} joined the pool`, { host: hb.host });
    this.ring.add(hb.id);
    this.reported.set(hb.id, hb);
    if (!this.departures.has(hb.id)) this.departures.set(hb.id, new AbortController());
    for (const wake of this.waiters) wake();
  }

  private left(id: string, why: string): void {
    this.options.log?.(`invoker ${id} left the pool: ${why}`);
    this.ring.remove(id);
    this.reported.delete(id);
    this.departures
      .get(id)
      ?.abort(new NimbusError('unavailable', `invoker ${id} left the pool (${why}) while running this call`));
    this.departures.delete(id);
  }

  /** The live invokers with their load, without those recently failing (unless that is all of them). */
  snapshot(): Map<string, InvokerLoad> {
    const now = Date.now();
    const all = new Map<string, InvokerLoad>();
    const trusted = new Map<string, InvokerLoad>();
    for (const [id, hb] of this.reported) {
      const v = { id, slots: hb.slots, inflight: Math.max(hb.inflight, this.local.get(id) ?? 0) };
      all.set(id, v);
      if ((this.suspects.get(id) ?? 0) <= now) trusted.set(id, v);
    }
    return trusted.size > 0 ? trusted : all;
  }

  async pick(functionName: string): Promise<string> {
    let id = chooseInvoker(this.ring, this.snapshot(), functionName);
    if (id === undefined) {
      await this.waitForInvoker(this.options.waitMs ?? this.presence.intervalMs * 2);
      id = chooseInvoker(this.ring, this.snapshot(), functionName);
    }
    if (id === undefined)
      throw new NimbusError(
        'unavailable',
        'no invoker is running: start one with `nimbus invoker --bus nats://… --store postgres://…`',
        { delivered: false },
      );
    this.local.set(id, (this.local.get(id) ?? 0) + 1);
    return id;
  }

  private waitForInvoker(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  finished(invokerId: string): void {
    const n = (this.local.get(invokerId) ?? 0) - 1;
    if (n > 0) this.local.set(invokerId, n);
    else this.local.delete(invokerId);
  }

  reportFailure(invokerId: string): void {
    this.suspects.set(invokerId, Date.now() + (this.options.suspectMs ?? 2000));
  }

  departure(invokerId: string): AbortSignal {
    return (
      this.departures.get(invokerId)?.signal ??
      AbortSignal.abort(new NimbusError('unavailable', `invoker ${invokerId} is not in the pool`))
    );
  }

  async close(): Promise<void> {
    for (const wake of this.waiters) wake();
    await this.unwatch?.();
  }
}

/** The platform's balancer factory for cluster mode: needs a bus that keeps presence (NATS). */
export function shardingBalancerFor(
  bus: { presence?: Presence },
  log?: ShardingOptions['log'],
): Promise<ShardingBalancer> {
  if (!bus.presence) throw new Error('cluster mode needs a bus with invoker presence: use --bus nats://host:4222');
  return ShardingBalancer.create(bus.presence, { log });
}
