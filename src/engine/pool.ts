// The warm pool of one function version: reuses warm sandboxes, starts new ones
// (cold starts) up to maxSandboxes, runs up to `concurrency` calls per sandbox,
// queues a bounded number of waiters (429 past that), and disposes sandboxes
// idle for longer than keep-alive.
import type { Sandbox } from '../sandbox/driver.ts';
import { NimbusError } from '../shared/errors.ts';

export interface PoolLimits {
  concurrency: number;
  /** Sandboxes kept warm even when idle past keep-alive. */
  minSandboxes: number;
  maxSandboxes: number;
  waitQueueLimit: number;
  keepAliveMs: number;
}

interface Slot {
  sandbox: Sandbox;
  inflight: number;
  lastUsed: number;
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

  constructor(
    readonly key: string,
    private readonly startSandbox: () => Promise<Sandbox>,
    private limits: PoolLimits,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  sandboxes(): { sandbox: Sandbox; inflight: number; lastUsed: number }[] {
    return [...this.slots.values()];
  }

  async acquire(): Promise<Lease> {
    if (this.closed) throw new NimbusError('unavailable', `pool ${this.key} is closed`);
    const warm = this.freeSlot();
    if (warm) return this.lease(warm, false, 0);
    if (this.slots.size + this.creating < this.limits.maxSandboxes) return this.coldStart();
    if (this.waiters.length >= this.limits.waitQueueLimit) {
      throw new NimbusError('throttled', `function ${this.key} is at its limit of ${this.limits.maxSandboxes} sandboxes and ${this.limits.waitQueueLimit} waiting calls; retry later or raise maxSandboxes`, { retryAfterSeconds: 1 });
    }
    return new Promise<Lease>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Adds a sandbox ahead of demand (pre-warm); returns it. */
  async prewarm(): Promise<Sandbox> {
    if (this.slots.size + this.creating >= this.limits.maxSandboxes) {
      throw new NimbusError('conflict', `function ${this.key} already has its maximum of ${this.limits.maxSandboxes} sandboxes`);
    }
    const lease = await this.coldStart();
    this.release(lease);
    return lease.sandbox;
  }

  /** Starts sandboxes until the pool holds at least `count` (minSandboxes). */
  async fillTo(count: number): Promise<void> {
    while (!this.closed && this.slots.size + this.creating < Math.min(count, this.limits.maxSandboxes)) await this.prewarm();
  }

  release(lease: Lease): void {
    const slot = this.slots.get(lease.sandbox.id);
    if (!slot) return this.serveWaiters();
    slot.inflight--;
    slot.lastUsed = Date.now();
    if (lease.sandbox.state === 'dead') {
      this.remove(slot);
      return this.serveWaiters();
    }
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(this.lease(slot, false, 0));
    if (slot.inflight === 0) this.armIdleTimer(slot);
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

  private async coldStart(): Promise<Lease> {
    this.creating++;
    const started = Date.now();
    try {
      const sandbox = await this.startSandbox();
      const slot: Slot = { sandbox, inflight: 0, lastUsed: Date.now() };
      this.slots.set(sandbox.id, slot);
      sandbox.onDeath(() => {
        if (slot.inflight === 0) this.remove(slot);
      });
      if (this.closed) {
        this.remove(slot);
        throw new NimbusError('unavailable', `pool ${this.key} closed while starting a sandbox`);
      }
      return this.lease(slot, true, Date.now() - started);
    } finally {
      this.creating--;
    }
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
      this.coldStart().then(waiter.resolve, waiter.reject);
    }
  }

  private armIdleTimer(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.inflight === 0 && this.slots.size > this.limits.minSandboxes) this.remove(slot);
    }, this.limits.keepAliveMs);
    slot.idleTimer.unref();
  }

  private remove(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    if (this.slots.get(slot.sandbox.id) !== slot) return;
    this.slots.delete(slot.sandbox.id);
    void slot.sandbox.dispose().catch(() => undefined);
  }

  /** Disposes one sandbox by id (the lecture's "delete"); false if not here. */
  async removeSandbox(id: string): Promise<boolean> {
    const slot = this.slots.get(id);
    if (!slot) return false;
    this.slots.delete(id);
    clearTimeout(slot.idleTimer);
    await slot.sandbox.dispose();
    this.serveWaiters();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new NimbusError('unavailable', `pool ${this.key} closed`));
    const all = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(all.map(async (s) => {
      clearTimeout(s.idleTimer);
      await s.sandbox.dispose().catch(() => undefined);
    }));
  }
}
