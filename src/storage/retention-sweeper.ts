// The background side of activation retention: every platform process sweeps
// its store on a timer (the first sweep soon after start), one sweep at a time.
// In a cluster every front end and invoker runs one; the store lets a single
// process sweep at once (PostgreSQL's advisory lock) and the others skip.
import type { NimbusConfig } from '../config/options.ts';
import { DEFAULT_SWEEP, type RetentionPolicy, type SweepReport } from './retention.ts';
import type { Store } from './store.ts';

export interface Sweeper {
  /** Sweeps now (after the one running, if any); what the timer runs. */
  sweepNow(): Promise<SweepReport>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

type Log = (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;

export function retentionPolicy(
  config: Pick<NimbusConfig, 'activationRetentionMs' | 'activationRetentionPerFunction'>,
): RetentionPolicy {
  return {
    maxAgeMs: config.activationRetentionMs,
    keepPerFunction: config.activationRetentionPerFunction,
    ...DEFAULT_SWEEP,
  };
}

export function startSweeper(store: Store, config: NimbusConfig, log: Log): Sweeper {
  const closing = new AbortController();
  const policy = { ...retentionPolicy(config), signal: closing.signal };
  const interval = config.activationSweepIntervalMs;
  let running: Promise<SweepReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const sweepNow = async (): Promise<SweepReport> => {
    while (running) await running.catch(() => undefined);
    running = store.sweepActivations(policy);
    try {
      const report = await running;
      if (report.deleted > 0) log('info', `retention deleted ${report.deleted} activation records`, { ...report });
      return report;
    } finally {
      running = undefined;
    }
  };
  const tick = () => {
    timer = undefined;
    void sweepNow()
      .catch((e: unknown) => log('warn', 'activation retention sweep failed; trying again next interval', { err: e }))
      // A sweep that stopped with more to delete goes on soon, not a whole interval later.
      .then((report) => schedule(report?.more ? Math.min(interval, 1000) : interval));
  };
  const schedule = (ms: number) => {
    if (stopped || policy.maxAgeMs + policy.keepPerFunction === 0) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  schedule(Math.min(interval, 5000));
  return {
    sweepNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      closing.abort();
      await running?.catch(() => undefined);
    },
  };
}
