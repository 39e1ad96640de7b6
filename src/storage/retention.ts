// Activation retention, written once for both SQL stores: which records the
// policy no longer keeps (older than the age limit, or beyond the newest N of
// their function) and how they are deleted, in small batches so that a sweep
// never holds a lock for long nor stalls the calls being recorded meanwhile.
// Never deleted: records still queued or running, and any record whose async
// queue entry is still pending (a retry waits on it). Dead letters follow the
// age rule only: they are rare and are what an operator comes back to read.
// The statements use `?` placeholders, like statements.ts's; PostgreSQL's
// driver numbers them.
import type { Statement } from './statements.ts';

export interface RetentionPolicy {
  /** Records created longer ago than this are deleted, ms (0: no age limit). */
  maxAgeMs: number;
  /** Per function, finished records beyond the newest this many are deleted (0: no count limit). */
  keepPerFunction: number;
  /** Records deleted per batch (one short transaction each). */
  batchSize: number;
  /** Most batches per sweep; the next sweep carries on from there. */
  maxBatches: number;
  /** Pause between batches, ms, so other writes go first. */
  pauseMs: number;
  /** Stops the sweep after its current batch (the platform is closing). */
  signal?: AbortSignal;
}

/** 50 records a batch: with 1 MB logs, SQLite reads ~50 MB of overflow pages to free them (see README). */
export const DEFAULT_SWEEP = { batchSize: 50, maxBatches: 400, pauseMs: 10 } as const;

export interface SweepReport {
  /** Activation records deleted. */
  deleted: number;
  /** Whether the sweep stopped at maxBatches with records still to delete. */
  more: boolean;
  /** Set when another process was sweeping (PostgreSQL), so this one did nothing. */
  skipped?: boolean;
}

/** One store's way to run the retention statements (reads alone; writes in one transaction). */
export interface RetentionDb {
  all<R>(sql: string, args: unknown[]): Promise<R[]>;
  /** Runs the statements in one transaction; returns the rows each changed. */
  write(statements: Statement[]): Promise<number[]>;
}

const KEPT = `status NOT IN ('queued', 'running')
  AND NOT EXISTS (SELECT 1 FROM async_queue q WHERE q.activation_id = activations.id AND q.state = 'pending')`;

/** Every function name with records, one index probe each (a loose index scan; both dialects). */
export const NAMES_SQL = `WITH RECURSIVE names(name) AS (
  SELECT min(function_name) FROM activations
  UNION ALL SELECT (SELECT min(function_name) FROM activations WHERE function_name > names.name) FROM names WHERE names.name IS NOT NULL
) SELECT name FROM names WHERE name IS NOT NULL`;

/** The creation time of a function's keep-th newest record (OFFSET keep - 1): older ones go, ties stay. */
export const CUTOFF_SQL =
  'SELECT created_at FROM activations WHERE function_name = ? ORDER BY created_at DESC LIMIT 1 OFFSET ?';

// Each pick starts at the creation time of the last one's newest record (`created_at >= ?`), not at
// the oldest: the records a batch deleted stay in the index until a vacuum, and scanning past them
// again made each pick slower than the last (PostgreSQL: 28 ms a pick, 7 s of a 17 s async drain).
const PICK_OLD = `SELECT id, created_at FROM activations WHERE created_at >= ? AND created_at < ? AND ${KEPT} ORDER BY created_at LIMIT ?`;
const PICK_EXCESS = `SELECT id, created_at FROM activations WHERE function_name = ? AND created_at >= ? AND created_at < ? AND status <> 'dead_letter' AND ${KEPT} ORDER BY created_at LIMIT ?`;

/** Deletes the records and their finished queue entries (an async call's input can be as large as its logs). */
export function deleteStatements(ids: string[]): Statement[] {
  const list = ids.map(() => '?').join(', ');
  return [
    { sql: `DELETE FROM async_queue WHERE state = 'done' AND activation_id IN (${list})`, args: ids },
    { sql: `DELETE FROM activations WHERE id IN (${list})`, args: ids },
  ];
}

interface Picked {
  id: string;
  created_at: string;
}

/** One part of a sweep: records of one function (or of all) created before `before`. */
interface Target {
  functionName?: string;
  before: string;
}

/** The targets of a sweep now: the age cut-off, then each function over its count. */
async function targets(db: RetentionDb, policy: RetentionPolicy, now: number): Promise<Target[]> {
  const out: Target[] = [];
  const ageCut = policy.maxAgeMs > 0 ? new Date(now - policy.maxAgeMs).toISOString() : undefined;
  if (ageCut) out.push({ before: ageCut });
  if (policy.keepPerFunction > 0) {
    for (const { name } of await db.all<{ name: string }>(NAMES_SQL, [])) {
      const [cut] = await db.all<{ created_at: string }>(CUTOFF_SQL, [name, policy.keepPerFunction - 1]);
      // Computed once per sweep: records made since are newer, so the newest N are never below it.
      if (cut && (!ageCut || cut.created_at > ageCut)) out.push({ functionName: name, before: cut.created_at });
    }
  }
  return out;
}

/** Deletes what the policy no longer keeps, at most batchSize × maxBatches records. */
export async function sweepActivations(
  db: RetentionDb,
  policy: RetentionPolicy,
  now = Date.now(),
): Promise<SweepReport> {
  let deleted = 0;
  let batches = 0;
  for (const t of await targets(db, policy, now)) {
    let from = '';
    for (;;) {
      if (batches >= policy.maxBatches || policy.signal?.aborted) return { deleted, more: true };
      const pick =
        t.functionName === undefined
          ? db.all<Picked>(PICK_OLD, [from, t.before, policy.batchSize])
          : db.all<Picked>(PICK_EXCESS, [t.functionName, from, t.before, policy.batchSize]);
      const picked = await pick;
      const ids = picked.map((r) => r.id);
      if (ids.length === 0) break;
      from = picked.at(-1)!.created_at; // ties with it stay in the next pick's range
      batches++;
      deleted += (await db.write(deleteStatements(ids)))[1] ?? 0;
      if (ids.length < policy.batchSize) break;
      if (policy.pauseMs > 0) await new Promise((r) => setTimeout(r, policy.pauseMs));
    }
  }
  return { deleted, more: false };
}
