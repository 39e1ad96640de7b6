// Replays a trace (trace-gen.ts) through the platform's own pool-keeping code
// in virtual time: one FunctionPool per function with the scaling the invoker
// gives it (poolScaling: the autoscaler, and the learned keep-alive's
// IdleHistogram unless keep-alive is fixed), its sandboxes stand-ins that do
// nothing. Hours of trace cannot run in wall time, so the clock the pool and
// its scaler read (Date, setTimeout, setInterval) is node:test's MockTimers,
// stepped from one trace event to the next; promises settle between steps.
// Counts cold starts (as the pool reports them to the caller) and idle
// sandbox-seconds (a sandbox's lifetime less the time it ran calls).
import { mock } from 'node:test';
import type { NimbusConfig } from '../src/config/options.ts';
import { poolScaling } from '../src/engine/autoscale/pool-scaling.ts';
import { IdleHistogram } from '../src/engine/keepalive/hybrid-policy.ts';
import { FunctionPool, type Lease } from '../src/engine/pool.ts';
import type { Sandbox } from '../src/sandbox/driver.ts';
import type { FunctionConfig } from '../src/storage/store.ts';
import type { Trace } from './trace-gen.ts';

export type Policy = 'fixed' | 'adaptive';

export interface ReplayOptions {
  /** The platform config the pools read (autoscaler windows, keep-alive). */
  config: NimbusConfig;
  /** The fixed policy's keep-alive, ms (10 minutes). */
  fixedKeepAliveMs: number;
  /** The learned keep-alive's histogram bin (a minute; shrunk with the trace for a compressed replay). */
  binMs?: number;
  maxSandboxes?: number;
  /** Virtual-time step (default 250 ms): timers fire at their time, what they start settles at the step's end. */
  stepMs?: number;
}

export interface ReplayResult {
  calls: number;
  cold: number;
  /** Sum over sandboxes of (lifetime - time running calls), seconds. */
  idleSandboxSeconds: number;
  sandboxesStarted: number;
  /** Per call, in trace order: did it start cold. */
  coldByCall: boolean[];
  /** Per function: [calls, cold starts, idle sandbox-seconds]. */
  perFunction: [number, number, number][];
}

/** A sandbox that runs nothing: the pool only needs its id, state, death listener and dispose. */
class StandIn {
  readonly createdAt = Date.now();
  disposedAt?: number;
  busyMs = 0;
  state: 'ready' | 'dead' = 'ready';
  constructor(
    readonly id: string,
    readonly fn: number,
  ) {}
  onDeath(): void {}
  async dispose(): Promise<void> {
    this.disposedAt ??= Date.now();
    this.state = 'dead';
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function replay(trace: Trace, policy: Policy, opts: ReplayOptions): Promise<ReplayResult> {
  const end = trace.hours * 3_600_000;
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  const standIns: StandIn[] = [];
  const coldByCall: boolean[] = new Array(trace.calls.length).fill(false);
  /** Calls running: when each ends. */
  const running: { endsAt: number; pool: FunctionPool; lease: Lease }[] = [];
  const pools: FunctionPool[] = [];
  try {
    const maxSandboxes = opts.maxSandboxes ?? 10;
    for (let fn = 0; fn < trace.functions.length; fn++) {
      const fnConfig = {
        concurrency: 1,
        minSandboxes: 0,
        maxSandboxes,
        ...(policy === 'fixed' ? { keepAlive: opts.fixedKeepAliveMs } : {}),
      } as FunctionConfig;
      let n = 0;
      const start = async () => {
        const s = new StandIn(`f${fn}-${n++}`, fn);
        standIns.push(s);
        return s as unknown as Sandbox;
      };
      pools.push(
        new FunctionPool(`f${fn}@1`, start, {
          concurrency: 1,
          minSandboxes: 0,
          maxSandboxes,
          waitQueueLimit: 10_000,
          keepAliveMs: opts.fixedKeepAliveMs,
          scaling: poolScaling(fnConfig, 1, 0, opts.config, () => new IdleHistogram(opts.binMs)),
        }),
      );
    }
    const advance = async (to: number) => {
      while (Date.now() < to) {
        mock.timers.tick(Math.min(opts.stepMs ?? 250, to - Date.now()));
        await settle();
      }
    };
    let next = 0;
    while (next < trace.calls.length || running.length > 0) {
      const call = trace.calls[next];
      running.sort((a, b) => a.endsAt - b.endsAt);
      const ending = running[0];
      if (ending && (!call || ending.endsAt <= call.at)) {
        await advance(ending.endsAt);
        running.shift();
        ending.pool.release(ending.lease);
        await settle();
        continue;
      }
      if (!call) break;
      await advance(call.at);
      const index = next++;
      const pool = pools[call.fn];
      if (!pool) continue;
      void pool.acquire().then((lease) => {
        coldByCall[index] = lease.cold;
        (lease.sandbox as unknown as StandIn).busyMs += call.durationMs;
        running.push({ endsAt: Date.now() + call.durationMs, pool, lease });
      });
      await settle();
    }
    await advance(Math.max(end, Date.now()));
    const perFunction: [number, number, number][] = trace.functions.map(() => [0, 0, 0]);
    trace.calls.forEach((c, i) => {
      const row = perFunction[c.fn];
      if (!row) return;
      row[0]++;
      if (coldByCall[i]) row[1]++;
    });
    let idleMs = 0;
    for (const s of standIns) {
      const idle = Math.max(0, (s.disposedAt ?? Date.now()) - s.createdAt - s.busyMs);
      idleMs += idle;
      const row = perFunction[s.fn];
      if (row) row[2] += idle / 1000;
    }
    return {
      calls: trace.calls.length,
      cold: coldByCall.filter(Boolean).length,
      idleSandboxSeconds: idleMs / 1000,
      sandboxesStarted: standIns.length,
      coldByCall,
      perFunction,
    };
  } finally {
    for (const pool of pools) await pool.close();
    mock.timers.reset();
  }
}
