// `--activation-retention <age>` and `--activation-retention-per-function <n>`
// on `nimbus serve` and `nimbus invoker`: how long, and how many per function,
// activation records are kept before the background sweep deletes them (every
// process of a cluster takes the same values; one sweeps at a time). Checked
// before the platform starts, with an error that shows a valid value.
import type { Command } from 'commander';
import type { PlatformOptions } from '../platform.ts';
import { CliError } from './client.ts';

export interface RetentionOpts { activationRetention?: string; activationRetentionPerFunction?: string }

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function addRetentionFlags(command: Command): void {
  command
    .option('--activation-retention <age>', 'delete activation records (logs, results) older than this: 7d, 12h, 30m, 90s, or 0 to keep them regardless of age (default 7d)', process.env.NIMBUS_ACTIVATION_RETENTION)
    .option('--activation-retention-per-function <n>', 'keep at most the newest n finished activation records of each function, 0 for no limit (default 10000)', process.env.NIMBUS_ACTIVATION_RETENTION_PER_FUNCTION);
}

/** An age such as "7d" or "36h" in ms, or undefined when it is not one. */
export function parseAge(raw: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n === 0 ? 0 : n * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
}

export function retentionOptions(o: RetentionOpts): Pick<PlatformOptions, 'activationRetentionMs' | 'activationRetentionPerFunction'> {
  const out: Pick<PlatformOptions, 'activationRetentionMs' | 'activationRetentionPerFunction'> = {};
  if (o.activationRetention !== undefined) {
    const ms = parseAge(o.activationRetention);
    if (ms === undefined || !Number.isSafeInteger(ms)) throw new CliError(`--activation-retention must be an age such as 7d, 12h, 30m or 90s (or 0 to keep records regardless of age), got "${o.activationRetention}"`, 2);
    out.activationRetentionMs = ms;
  }
  if (o.activationRetentionPerFunction !== undefined) {
    const n = Number(o.activationRetentionPerFunction);
    if (!/^\d+$/.test(o.activationRetentionPerFunction.trim()) || !Number.isSafeInteger(n)) {
      throw new CliError(`--activation-retention-per-function must be a whole number of records such as 10000 (or 0 for no limit), got "${o.activationRetentionPerFunction}"`, 2);
    }
    out.activationRetentionPerFunction = n;
  }
  return out;
}
