// Activation records written to PostgreSQL in batches (group commit): a record
// joins the batch being gathered, and each batch is one upsert statement in
// one commit. A batch that holds a record someone waits for starts as soon as
// the one before it has committed; a batch of records written behind (answered
// sync calls) gathers for up to `lingerMs` first, so a busy invoker commits a
// few times a second rather than once per call or two, as SQLite's writer
// does in embedded mode. The caller decides whether to wait for the commit: an
// answered sync call's record does not, every other record does (an async
// outcome commits with or before its queue change). Within a batch the
// later write of a record wins, and batches commit in order, so a write never
// lands after one that came later. Changes to async queue entries (an async
// run done, or put back for a retry) join the batch too, in the same statement
// as its records: they commit with the outcome recorded before them, and a
// busy invoker commits once for many runs instead of once per run.
import { activationRow } from '../rows.ts';
import { ACTIVATION_INSERT_INTO, ACTIVATION_ON_CONFLICT } from '../statements.ts';
import type { ActivationRecord, QueueChange } from '../store.ts';

/** Records in one statement at most (bounds its size; its arrays have no parameter limit). */
export const MAX_BATCH = 500;
/** Records held while the database does not take them; beyond this the oldest are dropped (and logged). */
export const MAX_PENDING = 20_000;

/**
 * One fixed statement for any number of records (one array per column of
 * activationRow), so PostgreSQL parses and plans it once per connection.
 */
export const ACTIVATION_UPSERT_ARRAYS = `${ACTIVATION_INSERT_INTO}
  SELECT * FROM unnest(?::text[], ?::text[], ?::int[], ?::text[], ?::text[], ?::text[])
  ${ACTIVATION_ON_CONFLICT}`;

/**
 * The records' upsert and the queue changes in one statement (one commit). Each
 * change's null fields keep the entry's value, as QUEUE_UPDATE's do.
 */
export const ACTIVATION_UPSERT_AND_QUEUE = `WITH r AS (
    ${ACTIVATION_UPSERT_ARRAYS}
    RETURNING 1
  )
  UPDATE async_queue AS q SET attempts = COALESCE(v.attempts, q.attempts),
    run_at = COALESCE(v.run_at, q.run_at), state = COALESCE(v.state, q.state)
  FROM unnest(?::text[], ?::int[], ?::bigint[], ?::text[]) AS v(activation_id, attempts, run_at, state)
  WHERE q.activation_id = v.activation_id`;

/** Runs ACTIVATION_UPSERT_ARRAYS with its six arrays, or ACTIVATION_UPSERT_AND_QUEUE with ten. */
export type Upsert = (sql: string, columns: unknown[][]) => Promise<unknown>;

export interface BatchOptions {
  /**
   * How long a batch of records written behind gathers before it is written;
   * a record someone waits for, or a flush, starts it at once.
   * @default 0
   */
  lingerMs?: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** The six column arrays of these records, in activationRow's order. */
function columnsOf(records: ActivationRecord[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], []];
  for (const r of records) activationRow(r).forEach((v, i) => columns[i]!.push(v));
  return columns;
}

/** The four column arrays of these queue changes: activation id, attempts, run_at, state (null keeps). */
function changeColumns(changes: Map<string, QueueChange>): unknown[][] {
  const columns: unknown[][] = [[], [], [], []];
  for (const [id, c] of changes)
    [id, c.attempts ?? null, c.runAt ?? null, c.state ?? null].forEach((v, i) => columns[i]!.push(v));
  return columns;
}

export class ActivationBatches {
  private pending = new Map<string, ActivationRecord>();
  private changes = new Map<string, QueueChange>();
  /** The batch being written now; the next one starts after it. */
  private writing: Promise<void> = Promise.resolve();
  /** Ids of the records and queue changes in the batch being written. */
  private writingIds = new Set<string>();
  private scheduled: Promise<void> | undefined;
  /** Ends the gathering of the scheduled batch early. */
  private release: (() => void) | undefined;

  constructor(
    private readonly upsert: Upsert,
    private readonly options: BatchOptions = {},
  ) {}

  /**
   * Adds a record; the promise resolves once it is committed (or rejects when
   * its batch failed). `behind`: nobody waits for it, so its batch may gather.
   */
  write(record: ActivationRecord, behind = false): Promise<void> {
    this.pending.delete(record.id); // the later write of one record wins, in the later batch's order
    this.pending.set(record.id, record);
    if (this.pending.size > MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.options.log?.(
        'dropped an activation record written behind: the database has not taken records for a while',
        { activation: oldest },
      );
    }
    return this.schedule(!behind);
  }

  /**
   * Changes an async queue entry in the next batch, after every record written
   * before; resolves once committed. Two changes of one entry in a batch merge
   * (the later one's fields win).
   */
  changeQueue(activationId: string, change: QueueChange): Promise<void> {
    const prior = this.changes.get(activationId);
    this.changes.set(activationId, {
      attempts: change.attempts ?? prior?.attempts,
      runAt: change.runAt ?? prior?.runAt,
      state: change.state ?? prior?.state,
    });
    return this.schedule(true);
  }

  /** Resolves once every record and queue change written before this call is committed. */
  flush(): Promise<void> {
    return this.pending.size || this.changes.size ? this.schedule(true) : this.writing;
  }

  /**
   * Resolves once every write of this activation's record or queue entry made
   * before this call is committed: a read of one run waits for its own
   * writes, not for everyone's.
   */
  settled(activationId: string): Promise<void> {
    if (this.pending.has(activationId) || this.changes.has(activationId)) return this.schedule(true);
    return this.writingIds.has(activationId) ? this.writing : Promise.resolve();
  }

  private schedule(now: boolean): Promise<void> {
    if (!this.scheduled) {
      const linger = this.options.lingerMs ?? 0;
      const gathered = new Promise<void>((resolve) => {
        const timer = linger > 0 ? setTimeout(resolve, linger) : undefined;
        this.release = () => (clearTimeout(timer), resolve());
        if (!timer) resolve();
      });
      const previous = this.writing.catch(() => undefined);
      this.scheduled = Promise.all([previous, gathered]).then(() => this.next());
    }
    if (now) this.release?.();
    return this.scheduled;
  }

  /** Writes what has gathered, MAX_BATCH at a time; a failed batch keeps its records for the next try. */
  private async next(): Promise<void> {
    this.scheduled = undefined;
    this.release = undefined;
    const batch = [...this.pending.values()];
    const changes = this.changes;
    this.pending = new Map();
    this.changes = new Map();
    const ids = new Set([...batch.map((r) => r.id), ...changes.keys()]);
    this.writingIds = ids;
    const run = (async () => {
      // The queue changes go with the last slice of records: after every record written before them.
      const last = Math.max(0, Math.ceil(batch.length / MAX_BATCH) - 1) * MAX_BATCH;
      for (let i = 0; i <= last; i += MAX_BATCH) {
        const records = columnsOf(batch.slice(i, i + MAX_BATCH));
        try {
          if (i === last && changes.size)
            await this.upsert(ACTIVATION_UPSERT_AND_QUEUE, [...records, ...changeColumns(changes)]);
          else if (records[0]!.length) await this.upsert(ACTIVATION_UPSERT_ARRAYS, records);
        } catch (e) {
          // Records are kept unless written again meanwhile, and retried with the next write or flush.
          // Queue changes are not: their callers hear of the failure and decide (the message is redelivered).
          for (const r of batch.slice(i)) if (!this.pending.has(r.id)) this.pending.set(r.id, r);
          throw e;
        }
      }
    })();
    this.writing = run.catch(() => undefined);
    void this.writing.then(() => {
      if (this.writingIds === ids) this.writingIds = new Set();
    });
    return run;
  }
}
