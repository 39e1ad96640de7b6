// The recent log lines of a function without following it: taken from the
// newest activation records (each keeps its bounded copy of the call's logs),
// oldest line first, like `tail`. A record has no time per line: each line
// carries the time its activation started.
import type { Store } from '../storage/store.ts';

export interface LogLineEvent {
  activationId: string;
  /** The function's name as the caller knows it (bare, without its namespace). */
  function: string;
  /** ISO time: when the line was written (live), or when its activation started (from a record). */
  time: string;
  line: string;
}

/** Records read at most: enough for `limit` lines of functions that log little. */
const RECORDS_SCANNED = 100;

export async function recentLines(
  store: Store,
  qualifiedName: string,
  shownName: string,
  limit: number,
  /** Only records made at or after this ISO time (tenancy/incarnation.ts: not an earlier namespace's). */
  since?: string,
): Promise<LogLineEvent[]> {
  const records = await store.listActivations({ functionName: qualifiedName, limit: RECORDS_SCANNED, after: since });
  const newestFirst: LogLineEvent[] = [];
  for (const r of records) {
    if (!r.logs) continue;
    const lines = r.logs.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const time = r.startedAt ?? r.createdAt;
    for (let i = lines.length - 1; i >= 0 && newestFirst.length < limit; i--)
      newestFirst.push({ activationId: r.id, function: shownName, time, line: lines[i] ?? '' });
    if (newestFirst.length >= limit) break;
  }
  return newestFirst.reverse();
}
