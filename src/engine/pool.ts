// The warm pool of one function version: reuses warm sandboxes, starts new ones
// (cold starts) up to maxSandboxes, runs up to `concurrency` calls per sandbox,
// queues a bounded number of waiters (429 past that), and disposes sandboxes
// idle for longer than keep-alive. Each sandbox it starts is first admitted by
// the invoker's platform-wide caps (capacity.ts), and gives its room back once
// disposed. A pool retired by a redeploy drains: what was sent to it still
// runs, and each sandbox is disposed once it has nothing left to do.
// With `scaling`, an autoscaler (autoscale/) starts sandboxes ahead of demand
// and removes those it no longer needs, and keep-alive is learned from the
// function's idle times (keepalive/).
// With `standby`, a sandbox whose engine can (microvm) is saved to disk and
// stopped at the end of its keep-alive instead of disposed, and the next cold
// start resumes it with its module state (scale to zero with state).
import type { Sandbox, StandbySandbox } from '../sandbox/driver.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';
import type { Ticket } from './capacity.ts';
import type { PoolScaling } from './autoscale/pool-scaling.ts';
import { PoolScaler } from './autoscale/pool-scaler.ts';

export interface PoolLimits {
  concurrency: number;
  /** Sandboxes kept warm even when idle past keep-alive. */
  minSandboxes: number;
  maxSandboxes: number;
  waitQueueLimit: number;
  keepAliveMs: number;
  /** Autoscaling and learned keep-alive (absent: sandboxes start when a call finds none free, keep-alive is fixed). */
  scaling?: PoolScaling;
  /** Idle sandboxes past keep-alive go to standby where their engine can (options.ts standby). */
  standby?: boolean;
}

/** Where a pool asks for room before it starts a sandbox; `evict` lets it displace idle sandboxes of other functions. */
export interface Admission {
  admit(evict: boolean): Promise<Ticket>;
}

/** No platform-wide caps (a pool used on its own). */
const UNCAPPED: Admission = {
  admit: async () => ({ memoryMb: 0, release: () => undefined, resize: () => () => undefined }),
};

interface Slot {
  sandbox: Sandbox;
  /** This sandbox's share of the platform caps, released once it is disposed. */
  ticket: Ticket;
  inflight: number;
  lastUsed: number;
  /** Calls this sandbox has taken (the dashboard's sandboxes page shows it). */
  calls?: number;
  idleTimer?: NodeJS.Timeout;
}

export interface Lease {
  sandbox: Sandbox;
  cold: boolean;
  initMs: number;
}

interface Waiter {
  resolve: (lease: Lease) => void;
  reject: (e: unknown) => void;
}

export class FunctionPool {
  private readonly slots = new Map<string, Slot>();
  private readonly waiters: Waiter[] = [];
  private creating = 0;
  private closed = false;
  /** Retired (retire()): sandboxes are disposed as soon as they are idle. */
  private draining = false;
  private drained?: () => void;
  /** Disposals under way (a retired pool is done once they are). */
  private readonly disposing = new Set<Promise<void>>();
  /** Autoscaling and learned keep-alive (autoscale/pool-scaler.ts), when the limits ask for them. */
  private readonly scaler?: PoolScaler;
  /** Sandboxes in standby (saved and stopped), the next cold starts' first choice. */
  private readonly parked: StandbySandbox[] = [];
  /** Sandboxes being saved to standby now: a cold start waits for them. */
  private readonly parking = new Set<Promise<void>>();

  constructor(
    readonly key: string,
    private readonly startSandbox: () => Promise<Sandbox>,
    private limits: PoolLimits,
    private readonly admission: Admission = UNCAPPED,
  ) {
    if (!limits.scaling) return;
    const ready = () => [...this.slots.values()].filter((s) => s.inflight === 0 && s.sandbox.state === 'ready');
    const view = {
      held: () => this.slots.size + this.creating,
      active: () => !this.closed && !this.draining,
      minSandboxes: () => this.limits.minSandboxes,
      idle: () => ready().map((s) => ({ id: s.sandbox.id, lastUsed: s.lastUsed })),
      remove: (id: string) => {
        const slot = this.slots.get(id);
        if (slot?.inflight === 0) this.remove(slot);
      },
      start: () => this.coldStart(false).then((lease) => this.releaseSlot(lease)),
    };
    this.scaler = new PoolScaler(view, limits.scaling, limits.keepAliveMs);
  }

  /** Sandboxes the autoscaler started here. */
  get scaledUp(): number {
    return this.scaler?.scaledUp ?? 0;
  }

  /** The autoscaler's last desired sandbox count (undefined without one, or once the pool stops taking calls). */
  get desiredSandboxes(): number | undefined {
    return this.scaler?.desired;
  }

  get size(): number {
    return this.slots.size;
  }

  sandboxes(): { sandbox: Sandbox; inflight: number; lastUsed: number; calls?: number }[] {
    return [...this.slots.values()];
  }

  /** Sandboxes in standby. */
  standbySandboxes(): readonly StandbySandbox[] {
    return this.parked;
  }

  async acquire(): Promise<Lease> {
    this.scaler?.entered();
    try {
      const lease = await this.acquireSlot();
      // A call, not a pre-warm (which leases its new sandbox too): counted here.
      const slot = this.slots.get(lease.sandbox.id);
      if (slot) slot.calls = (slot.calls ?? 0) + 1;
      return lease;
    } catch (e) {
      this.scaler?.left(this.waiters.length);
      throw e;
    }
  }

  private async acquireSlot(): Promise<Lease> {
    if (this.closed) throw new NimbusError('unavailable', `pool ${this.key} is closed`);
    const warm = this.freeSlot();
    if (warm) return this.lease(warm, false, 0);
    if (this.slots.size + this.creating < this.limits.maxSandboxes) {
      try {
        return await this.coldStart(true);
      } catch (e) {
        // The platform is full: a function with sandboxes of its own waits for
        // one of them (as at maxSandboxes); one with none is refused now.
        if (
          !isCapacityRefusal(e) ||
          this.slots.size + this.creating === 0 ||
          this.waiters.length >= this.limits.waitQueueLimit
        )
          throw e;
        const free = this.freeSlot();
        return free ? this.lease(free, false, 0) : this.wait();
      }
    }
    if (this.waiters.length >= this.limits.waitQueueLimit) {
      throw new NimbusError(
        'throttled',
        `function ${this.key} is at its limit of ${this.limits.maxSandboxes} sandboxes and ${this.limits.waitQueueLimit} waiting calls; retry later or raise maxSandboxes`,
        { retryAfterSeconds: 1 },
      );
    }
    return this.wait();
  }

  private wait(): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Adds a sandbox ahead of demand (pre-warm; never evicts another function's); returns it. */
  async prewarm(): Promise<Sandbox> {
    if (this.slots.size + this.creating >= this.limits.maxSandboxes) {
      throw new NimbusError(
        'conflict',
        `function ${this.key} already has its maximum of ${this.limits.maxSandboxes} sandboxes`,
      );
    }
    const lease = await this.coldStart(false);
    this.releaseSlot(lease);
    return lease.sandbox;
  }

  /** Starts sandboxes until the pool holds at least `count` (minSandboxes). */
  async fillTo(count: number): Promise<void> {
    while (
      !this.closed &&
      !this.draining &&
      this.slots.size + this.creating < Math.min(count, this.limits.maxSandboxes)
    )
      await this.prewarm();
  }

  release(lease: Lease): void {
    this.releaseSlot(lease);
    this.scaler?.left(this.waiters.length);
  }

  private releaseSlot(lease: Lease): void {
    const slot = this.slots.get(lease.sandbox.id);
    if (!slot) {
      this.serveWaiters();
      return this.checkDrained();
    }
    slot.inflight--;
    slot.lastUsed = Date.now();
    if (lease.sandbox.state === 'dead') {
      this.remove(slot);
      this.serveWaiters();
      return this.checkDrained();
    }
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(this.lease(slot, false, 0));
    if (slot.inflight === 0) {
      if (this.draining) this.remove(slot);
      else this.armIdleTimer(slot);
    }
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots.values()) {
      if (slot.sandbox.state !== 'ready' || slot.inflight >= this.limits.concurrency) continue;
      if (!best || slot.lastUsed > best.lastUsed) best = slot;
    }
    return best;
  }

  private lease(slot: Slot, cold: boolean, initMs: number): Lease {
    clearTimeout(slot.idleTimer);
    slot.inflight++;
    slot.lastUsed = Date.now();
    return { sandbox: slot.sandbox, cold, initMs };
  }

  private async coldStart(evict: boolean): Promise<Lease> {
    this.creating++;
    const started = Date.now();
    let ticket: Ticket | undefined;
    try {
      ticket = await this.admission.admit(evict);
      const sandbox = await this.resumeOrStart();
      const slot: Slot = { sandbox, ticket, inflight: 0, lastUsed: Date.now() };
      ticket = undefined; // the slot holds it now, until the sandbox is disposed
      this.slots.set(sandbox.id, slot);
      sandbox.onDeath(() => {
        if (slot.inflight === 0) this.remove(slot);
      });
      if (this.closed) {
        this.remove(slot);
        throw new NimbusError('unavailable', `pool ${this.key} closed while starting a sandbox`);
      }
      const lease = this.lease(slot, true, Date.now() - started);
      // Calls that queued while it started share its other slots now, not at this call's end.
      this.serveWaiters();
      return lease;
    } finally {
      ticket?.release();
      this.creating--;
      // A start that failed may have been the last thing a retired pool waited for.
      this.checkDrained();
    }
  }

  /** A standby sandbox resumed (a save under way is waited for), else a new one. */
  private async resumeOrStart(): Promise<Sandbox> {
    await Promise.all(this.parking);
    const standby = this.parked.shift();
    if (!standby) return this.startSandbox();
    return standby.resume().catch(async () => {
      await standby.discard().catch(() => undefined);
      return this.startSandbox();
    });
  }

  /** Saves an idle sandbox to standby (its room in the caps is given back); disposes it if that fails. */
  private park(slot: Slot): void {
    const standby = slot.sandbox.standby;
    if (!standby) return this.remove(slot);
    clearTimeout(slot.idleTimer);
    if (this.slots.get(slot.sandbox.id) !== slot) return;
    this.slots.delete(slot.sandbox.id);
    const parking = standby
      .call(slot.sandbox)
      .then(
        async (parked) => {
          if (this.closed || this.draining) await parked.discard();
          else this.parked.push(parked);
        },
        () => slot.sandbox.dispose(),
      )
      .catch(() => undefined)
      .finally(() => {
        slot.ticket.release();
        this.parking.delete(parking);
      });
    this.parking.add(parking);
  }

  /** Deletes every standby sandbox's saved state (the pool closes or drains). */
  private async discardParked(): Promise<void> {
    await Promise.all(this.parking);
    await Promise.all(this.parked.splice(0).map((p) => p.discard().catch(() => undefined)));
  }

  /** A slot freed up by death: start a fresh sandbox for the first waiter. */
  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const free = this.freeSlot();
      if (free) {
        this.waiters.shift()?.resolve(this.lease(free, false, 0));
        continue;
      }
      if (this.slots.size + this.creating >= this.limits.maxSandboxes) return;
      const waiter = this.waiters.shift();
      if (!waiter) return;
      this.coldStart(true).then(waiter.resolve, waiter.reject);
    }
  }

  private armIdleTimer(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.inflight !== 0 || this.slots.size <= this.limits.minSandboxes) return;
      if (this.limits.standby) this.park(slot);
      else this.remove(slot);
    }, this.scaler?.keepAliveMs() ?? this.limits.keepAliveMs);
    slot.idleTimer.unref();
  }

  private remove(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    if (this.slots.get(slot.sandbox.id) !== slot) return;
    this.slots.delete(slot.sandbox.id);
    const disposal = this.dispose(slot).catch(() => undefined);
    this.disposing.add(disposal);
    void disposal.finally(() => this.disposing.delete(disposal));
    this.checkDrained();
  }

  /** Disposes a slot's sandbox, then gives its room back (also when dispose fails: it is no longer ours to count). */
  private async dispose(slot: Slot): Promise<void> {
    clearTimeout(slot.idleTimer);
    try {
      await slot.sandbox.dispose();
    } finally {
      slot.ticket.release();
    }
  }

  /** This pool's least recently used idle sandbox that may be evicted (above minSandboxes). */
  evictable(): { id: string; lastUsed: number } | undefined {
    if (this.slots.size <= this.limits.minSandboxes) return undefined;
    let best: Slot | undefined;
    for (const slot of this.slots.values()) {
      if (slot.inflight === 0 && slot.sandbox.state === 'ready' && (!best || slot.lastUsed < best.lastUsed))
        best = slot;
    }
    return best && { id: best.sandbox.id, lastUsed: best.lastUsed };
  }

  /** Disposes an idle sandbox to give its room to another function; false when it is no longer idle here. */
  async evict(id: string): Promise<boolean> {
    const slot = this.slots.get(id);
    if (!slot || slot.inflight > 0) return false;
    this.slots.delete(id);
    await this.dispose(slot).catch(() => undefined);
    return true;
  }

  /** The caps ticket of one sandbox here (for a resize). */
  ticketOf(id: string): Ticket | undefined {
    return this.slots.get(id)?.ticket;
  }

  /** Disposes one sandbox by id (the VM operation "delete"); false if not here. */
  async removeSandbox(id: string): Promise<boolean> {
    const parked = this.parked.findIndex((p) => p.id === id);
    if (parked >= 0) {
      await this.parked.splice(parked, 1)[0]?.discard();
      return true;
    }
    const slot = this.slots.get(id);
    if (!slot) return false;
    this.slots.delete(id);
    await this.dispose(slot);
    this.serveWaiters();
    return true;
  }

  /**
   * Retires this pool once a newer version takes the function's new calls. No
   * call is refused for it: calls in flight finish, calls waiting here are
   * still served, and a call routed to this version that reaches the pool now
   * still gets a sandbox; each sandbox is disposed as soon as it is idle.
   * Resolves once the pool holds nothing and its sandboxes are disposed;
   * past `boundMs` whatever is left is closed, so that a stuck sandbox
   * cannot keep an old version forever.
   */
  retire(boundMs: number): Promise<void> {
    this.draining = true;
    this.scaler?.stop();
    const done = new Promise<void>((resolve) => (this.drained = resolve));
    for (const slot of [...this.slots.values()]) if (slot.inflight === 0) this.remove(slot);
    const discarded = this.discardParked();
    this.disposing.add(discarded);
    void discarded.finally(() => this.disposing.delete(discarded));
    // Checked on the next turn: whoever was just handed this pool acquires first.
    setImmediate(() => this.checkDrained());
    const bound = setTimeout(() => void this.close(), boundMs);
    bound.unref();
    return done.finally(() => clearTimeout(bound));
  }

  /** Resolves once the disposals under way now are done (a retired pool's idle sandboxes, for one). */
  async disposalsUnderWay(): Promise<void> {
    await Promise.all([...this.disposing].map((d) => d.catch(() => undefined)));
  }

  private checkDrained(): void {
    if (!this.draining || this.slots.size > 0 || this.creating > 0 || this.waiters.length > 0) return;
    const resolve = this.drained;
    void Promise.all(this.disposing).then(() => resolve?.());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.scaler?.stop();
    for (const w of this.waiters.splice(0)) w.reject(new NimbusError('unavailable', `pool ${this.key} closed`));
    const all = [...this.slots.values()];
    this.slots.clear();
    await Promise.all([
      ...all.map((s) => this.dispose(s).catch(() => undefined)),
      ...this.disposing,
      this.discardParked(),
    ]);
    this.drained?.();
  }
}

/** A throttled error from the platform caps (it names the cap), as opposed to this function's own limits. */
function isCapacityRefusal(e: unknown): boolean {
  return isNimbusError(e) && e.code === 'throttled' && typeof e.details.cap === 'string';
}
