// Group commit for PostgreSQL enqueues (async accepts). One enqueue alone is a
// round trip and a commit; under load those, not the rows, set the pace. So
// enqueues that arrive while one group is in flight form the next group, and
// a group is ONE statement (one round trip, one commit) over arrays of the
// rows (unnest): the queue entries that went in, and for exactly those their
// activation record and outbox row. Each caller resolves only after that
// commit, so a 202 still follows its row. Idempotency is as for one enqueue:
// of rows with one key in a group the database inserts one (ON CONFLICT DO
// NOTHING sees rows of its own statement) and the others get its id; a key
// taken before is read back. If the group's statement fails (one bad row
// fails all of it), its rows are retried one at a time, so only the bad one fails.
import * as SQL from '../statements.ts';
import { activationRow, queueRow } from '../rows.ts';
import type { ActivationRecord, QueueEntry } from '../store.ts';

/** Enqueues in one statement at most (one array per column, so no parameter limit; bounds the statement's size). */
export const MAX_GROUP = 500;

/** Types of the columns in the order of queueRow, activationRow, publish_after. */
const TYPES = ['text', 'text', 'text', 'int', 'int', 'bigint', 'text', 'text']
  .concat(['text', 'text', 'int', 'text', 'text', 'text', 'bigint'])
  .map((t) => `?::${t}[]`);
const NAMES =
  'activation_id, function_name, input, attempts, max_attempts, run_at, idempotency_key, state, ' +
  'a_id, a_function_name, a_function_version, a_created_at, a_status, a_body, publish_after, n';

/** Returns the activation ids of the queue entries that went in. Args: one array per column (TYPES). */
export const ENQUEUE_GROUP = `WITH v AS (
    SELECT * FROM unnest(${TYPES.join(', ')}) WITH ORDINALITY AS v(${NAMES})
  ), q AS (
    INSERT INTO async_queue ${SQL.QUEUE_COLUMNS}
    SELECT activation_id, function_name, input, attempts, max_attempts, run_at, idempotency_key, state FROM v ORDER BY n
    ON CONFLICT (function_name, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING activation_id
  ), a AS (
    ${SQL.ACTIVATION_INSERT_INTO}
    SELECT a_id, a_function_name, a_function_version, a_created_at, a_status, a_body FROM v JOIN q USING (activation_id)
    RETURNING id
  ), o AS (
    INSERT INTO async_outbox (activation_id, message_id, publish_after)
    SELECT activation_id, activation_id, publish_after FROM v JOIN q USING (activation_id)
    WHERE publish_after IS NOT NULL
    RETURNING activation_id
  )
  SELECT activation_id, (SELECT count(*) FROM a) AS records, (SELECT count(*) FROM o) AS outbox FROM q`;

export interface Enqueue {
  record: ActivationRecord;
  entry: QueueEntry;
  /** null: no outbox row (Store.enqueue). */
  publishAfter: number | null;
}
export interface Enqueued {
  activationId: string;
  duplicate: boolean;
}

interface Waiting extends Enqueue {
  resolve: (r: Enqueued) => void;
  reject: (e: unknown) => void;
}

export interface GroupDb {
  /** Resolves once every activation record written before is committed (enqueues land after them). */
  before(): Promise<void>;
  /** Runs ENQUEUE_GROUP; returns the inserted activation ids. */
  insert(columns: unknown[][]): Promise<string[]>;
  /** One enqueue alone (the fallback of a failed group). */
  one(e: Enqueue): Promise<Enqueued>;
  /** The activation id holding a function's idempotency key. */
  byKey(functionName: string, key: string): Promise<string | undefined>;
}

export class EnqueueGroups {
  private pending: Waiting[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly db: GroupDb) {}

  /** Joins the next group; resolves once that group has committed. */
  enqueue(e: Enqueue): Promise<Enqueued> {
    return new Promise<Enqueued>((resolve, reject) => {
      // One group at a time: a group takes what has gathered when the one before it has committed.
      if (this.pending.push({ ...e, resolve, reject }) === 1) this.tail = this.tail.then(() => this.commit());
    });
  }

  private async commit(): Promise<void> {
    const all = this.pending;
    this.pending = [];
    try {
      await this.db.before();
    } catch (e) {
      for (const w of all) w.reject(e);
      return;
    }
    for (let i = 0; i < all.length; i += MAX_GROUP) await this.group(all.slice(i, i + MAX_GROUP));
  }

  private async group(ws: Waiting[]): Promise<void> {
    let inserted: Set<string>;
    try {
      const rows = ws.map((w) => [...queueRow(w.entry), ...activationRow(w.record), w.publishAfter]);
      inserted = new Set(await this.db.insert(TYPES.map((_, c) => rows.map((r) => r[c]))));
    } catch {
      // One bad row fails the whole statement: each row alone, so only the bad one fails.
      await Promise.all(ws.map((w) => this.db.one(w).then(w.resolve, w.reject)));
      return;
    }
    // A key's winner within this group, by function and key.
    const winners = new Map<string, string>();
    for (const w of ws) {
      const id = w.entry.activationId;
      if (inserted.has(id) && w.entry.idempotencyKey != null) winners.set(keyOf(w.entry), id);
    }
    await Promise.all(
      ws.map((w) => {
        const id = w.entry.activationId;
        if (inserted.has(id)) return w.resolve({ activationId: id, duplicate: false });
        return keyHolder(this.db.byKey, w.entry, winners.get(keyOf(w.entry))).then(w.resolve, w.reject);
      }),
    );
  }
}

/**
 * An enqueue that inserted nothing: its idempotency key is held by `winner`
 * (an enqueue of the same group) or else by an entry read now, possibly one
 * committed after the statement's snapshot.
 */
export async function keyHolder(byKey: GroupDb['byKey'], entry: QueueEntry, winner?: string): Promise<Enqueued> {
  const key = entry.idempotencyKey;
  if (key == null) throw new Error(`enqueue of ${entry.activationId} inserted nothing and has no idempotency key`);
  const prior = winner ?? (await byKey(entry.functionName, key));
  if (!prior) throw new Error(`idempotency key ${key} conflicted but no earlier entry was found`);
  return { activationId: prior, duplicate: true };
}

const keyOf = (e: QueueEntry): string => JSON.stringify([e.functionName, e.idempotencyKey]);
