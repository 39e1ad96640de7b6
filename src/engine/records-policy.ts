// Which activation records the invoker writes (function config `records`):
// "all" (the default), "errors" (every failure, no successful call), or
// {sample: r} (every failure and a share r of the successes). It applies to
// calls whose caller gets the outcome in the response (sync and http); every
// other trigger's record is always written: an async call's record is how its
// caller learns the outcome (and the async scheduler's bookkeeping reads it),
// and a sequence's parent record lists its steps' ids. Counts and durations
// reach /metrics either way; only the store write is skipped.
import type { ActivationRecord } from '../storage/store.ts';

export type RecordsPolicy = 'all' | 'errors' | { sample: number };

/** Whether the invoker stores this record; `random` is injectable for tests. */
export function keepsRecord(
  policy: RecordsPolicy | undefined,
  record: ActivationRecord,
  random: () => number = Math.random,
): boolean {
  if (policy === undefined || policy === 'all') return true;
  if (record.status !== 'success') return true;
  if (record.trigger !== 'sync' && record.trigger !== 'http') return true;
  return policy !== 'errors' && random() < policy.sample;
}
