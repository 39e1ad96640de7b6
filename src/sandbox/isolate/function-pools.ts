// One isolate pool process per function, so that a function that aborts V8
// (or is killed for its memory) fails only its own calls. A pool starts on
// the function's first sandbox and ends a moment after its last one goes; a
// pool that crashed is restarted by the next create, after a backoff that
// grows while the function keeps crashing it, so a crash loop cannot burn
// the CPU. Each pool has an RSS watchdog (see watchdog.ts).
import type { SandboxSpec } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import type { PoolLog, PoolProcess } from './pool-process.ts';
import { RssWatchdog } from './watchdog.ts';

/** How long a pool outlives its last sandbox: a replacement sandbox (after a timeout, say) finds it running. */
const LINGER_MS = 2000;
/** Restart delays after consecutive crashes: the first restart is immediate. */
const BACKOFF_MS = [0, 250, 500, 1000, 2000, 4000, 8000];
/** A pool that ran this long without crashing resets the function's crash count. */
const STABLE_MS = 60_000;

export interface PoolLease {
  pool: PoolProcess;
  /** Gives the sandbox's place back; the last one out lets the pool go. Safe to call twice. */
  release(): void;
}

interface Slot {
  key: string;
  pool: Promise<PoolProcess> | undefined;
  /** memoryMb of each sandbox (and create under way) that holds the pool. */
  holders: Map<string, number>;
  linger: NodeJS.Timeout | undefined;
  crashes: number;
  /** When the next pool may start (after a crash). */
  notBefore: number;
  watchdog: RssWatchdog | undefined;
}

export class FunctionPools {
  private readonly slots = new Map<string, Slot>();
  private closed = false;

  constructor(
    private readonly start: () => Promise<PoolProcess>,
    private readonly log: PoolLog,
  ) {}

  /** A pool for this function (started, or restarted after its backoff, when none runs) and a place in it. */
  async acquire(spec: SandboxSpec): Promise<PoolLease> {
    const key = spec.functionName;
    let slot = this.slots.get(key);
    if (!slot)
      this.slots.set(
        key,
        (slot = {
          key,
          pool: undefined,
          holders: new Map(),
          linger: undefined,
          crashes: 0,
          notBefore: 0,
          watchdog: undefined,
        }),
      );
    clearTimeout(slot.linger);
    slot.linger = undefined;
    slot.holders.set(spec.id, spec.memoryMb);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.leave(slot, spec.id);
    };
    try {
      return { pool: await this.livePool(slot), release };
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Pools running now, by function (for tests and diagnostics). */
  get running(): number {
    return [...this.slots.values()].filter((s) => s.pool).length;
  }

  private livePool(slot: Slot): Promise<PoolProcess> {
    const current = slot.pool;
    const replace = () => {
      if (slot.pool === current) slot.pool = this.startFor(slot);
      return slot.pool as Promise<PoolProcess>;
    };
    if (!current) return replace();
    return current.then((p) => (p.alive ? p : replace()), replace);
  }

  private async startFor(slot: Slot): Promise<PoolProcess> {
    const wait = slot.notBefore - Date.now();
    if (wait > 0) {
      this.log('debug', 'isolate pool restart held back after crashes', {
        function: slot.key,
        crashes: slot.crashes,
        waitMs: wait,
      });
      await new Promise((r) => setTimeout(r, wait));
    }
    const pool = await this.start();
    if (this.closed) {
      await pool.kill('driver disposed');
      throw new NimbusError('unavailable', 'the isolate driver has been disposed');
    }
    const startedAt = Date.now();
    slot.watchdog = new RssWatchdog(pool, (await pool.rssMb()) ?? 0, () => [...slot.holders.values()], this.log);
    pool.onDeath((death) => {
      slot.watchdog?.stop();
      if (!death.crashed) return;
      slot.crashes = Date.now() - startedAt > STABLE_MS ? 1 : slot.crashes + 1;
      slot.notBefore = Date.now() + (BACKOFF_MS[Math.min(slot.crashes - 1, BACKOFF_MS.length - 1)] ?? 0);
      this.log('warn', 'isolate pool of a function ended', {
        function: slot.key,
        reason: death.message,
        crashes: slot.crashes,
      });
    });
    return pool;
  }

  private leave(slot: Slot, sid: string): void {
    slot.holders.delete(sid);
    if (slot.holders.size > 0 || slot.linger) return;
    slot.linger = setTimeout(() => void this.retire(slot), LINGER_MS);
    slot.linger.unref();
  }

  /** Ends an unused pool; the slot stays while the function's crash count still matters. */
  private async retire(slot: Slot): Promise<void> {
    slot.linger = undefined;
    if (slot.holders.size > 0) return;
    const pool = slot.pool;
    slot.pool = undefined;
    slot.watchdog?.stop();
    if (slot.crashes === 0 || Date.now() > slot.notBefore + STABLE_MS) this.slots.delete(slot.key);
    await (await pool?.catch(() => undefined))?.kill('the function has no isolate sandbox left');
  }

  /** Kills every pool; resolves once none of their processes runs. */
  async dispose(): Promise<void> {
    this.closed = true;
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(
      slots.map(async (s) => {
        clearTimeout(s.linger);
        s.watchdog?.stop();
        await (await s.pool?.catch(() => undefined))?.kill('driver disposed');
      }),
    );
  }
}
