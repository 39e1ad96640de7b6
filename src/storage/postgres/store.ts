// The cluster Store: PostgreSQL (`pg` pool): every front end and invoker
// shares it. Artifacts live in the database (bytea), so any invoker can fetch
// and cache them. Migrations run under an advisory lock, so processes starting
// together apply each one once. When the database cannot be reached, calls
// fail fast with `unavailable` (short connect timeout, query timeout) and the
// pool reconnects by itself when it returns. The SQL is statements.ts's,
// shared with the SQLite store (its `?` numbered here); only the enqueue (one
// statement, grouped by enqueue-groups.ts) and the outbox claim (SKIP LOCKED)
// are this store's own.
// Activation records go through activation-batches.ts (group commit; an
// answered sync call's record is written behind). A front end may turn on a
// cache of function records (`cacheFunctions`), which the platform keeps true
// by an acknowledged bus broadcast on every deploy and delete.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadMigrations } from '../migrations.ts';
import { sweepActivations, type RetentionDb, type RetentionPolicy, type SweepReport } from '../retention.ts';
import {
  activationRow,
  toActivation,
  toDeployed,
  toFunction,
  toOutboxClaim,
  toQueueEntry,
  toVersion,
  queueRow,
  type OutboxRow,
  type QueueRow,
  type VersionRow,
} from '../rows.ts';
import type { SqlDb } from '../sql-db.ts';
import * as SQL from '../statements.ts';
import type {
  ActivationQuery,
  ActivationRecord,
  DeployedVersion,
  FunctionConfig,
  FunctionRecord,
  OutboxClaim,
  QueueChange,
  QueueEntry,
  Store,
  VersionRecord,
} from '../store.ts';
import { translate } from './errors.ts';
import { ActivationBatches } from './activation-batches.ts';
import { ENQUEUE_GROUP, EnqueueGroups, keyHolder, type Enqueue, type Enqueued } from './enqueue-groups.ts';
import { ReadGroups } from './read-groups.ts';
import { on, type Connection } from './connection.ts';

/** Function records a cache holds at most (then it starts again empty). */
const MAX_CACHED_FUNCTIONS = 10_000;
/** How long a read of an activation missing from the table waits for another process's write-behind batch, ms. */
const RECENT_RECORD_WAITS = [5, 10, 20, 40, 80];
/**
 * Ids created this recently may be missing only because their record waits in
 * a batch: a call runs up to 15 min (timeoutMs's bound) plus the dispatch
 * margin before its record is written, ms.
 */
const RECENT_RECORD_MS = 900_000 + 60_000;
/** Activation ids begin with their creation time in ms, 12 hex digits (newActivationId). */
const ageOfId = (id: string): number => Date.now() - parseInt(id.slice(0, 12), 16);

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Key of the advisory lock held while migrating (any constant unique to nimbus). */
const MIGRATION_LOCK = 7_316_221_001;
/** Key of the advisory lock a process holds while it sweeps old activations (one sweeper at a time). */
export const RETENTION_LOCK = 7_316_221_002;

export interface PostgresOptions {
  /** Time to open a connection before `unavailable`, ms. */
  connectTimeoutMs?: number;
  /** Time for one query before `unavailable`, ms. */
  queryTimeoutMs?: number;
  /** Connections in the pool. */
  max?: number;
  /**
   * How long records written behind (answered sync calls) gather before their
   * batch is committed, ms: fewer, larger commits under load.
   * @default 10
   */
  recordLingerMs?: number;
  /**
   * How long the reads of async runs starting while others keep starting (a
   * backlog) gather into one statement, ms; a run after a quiet spell reads at once.
   * @default 10
   */
  runReadLingerMs?: number;
  /** Where a failed write-behind batch is told. */
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** Queue entries' columns with their activation records' bodies (null when a record is gone). Args: ids. */
const QUEUED_RUNS_SELECT = `SELECT ${SQL.QUEUE_FIELDS.split(', ')
  .map((c) => `q.${c}`)
  .join(', ')}, a.body FROM async_queue q LEFT JOIN activations a ON a.id = q.activation_id
  WHERE q.activation_id = ANY(?::text[])`;
type QueuedRunRow = QueueRow & { body: string | null };

/**
 * The queue entry, and the record and outbox row only if the entry went in: one
 * statement (one round trip, one commit), and of enqueues racing with one
 * idempotency key exactly one inserts. Args: queueRow, activationRow, publish_after.
 */
const ENQUEUE = `WITH q AS (
    INSERT INTO async_queue ${SQL.QUEUE_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (function_name, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING activation_id
  ), a AS (
    ${SQL.ACTIVATION_INSERT_INTO} SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM q)
    RETURNING id
  ), o AS (
    INSERT INTO async_outbox (activation_id, message_id, publish_after)
    SELECT activation_id, activation_id, p FROM q, (SELECT ?::bigint AS p) x WHERE p IS NOT NULL
    RETURNING activation_id
  )
  SELECT (SELECT activation_id FROM q) AS inserted, (SELECT count(*) FROM a) AS records, (SELECT count(*) FROM o) AS outbox`;
/** SKIP LOCKED: relays in several invokers claim disjoint rows instead of waiting on each other. Args: now, leaseUntil, limit. */
const OUTBOX_CLAIM = `WITH due AS (
    SELECT activation_id FROM async_outbox WHERE publish_after <= ? ORDER BY publish_after LIMIT ? FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE async_outbox o SET publish_after = ? FROM due WHERE o.activation_id = due.activation_id
    RETURNING o.activation_id, o.message_id
  )
  SELECT c.activation_id, c.message_id, q.state, q.run_at FROM claimed c LEFT JOIN async_queue q ON q.activation_id = c.activation_id`;
const OUTBOX_DELETE = 'DELETE FROM async_outbox WHERE activation_id = ANY(?)';

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  private readonly db: Connection;
  private readonly batches: ActivationBatches;
  private readonly enqueues: EnqueueGroups;
  private readonly queuedRuns: ReadGroups<QueuedRunRow>;
  /** Function records by name with when they expire, while the cache is on (`cacheFunctions`). */
  private functions?: Map<string, { fn: FunctionRecord; until: number }>;
  private functionTtlMs = 0;
  /** Counts drops: a read that began before one is not cached (it may hold the record just dropped). */
  private drops = 0;

  constructor(
    url: string,
    private readonly options: PostgresOptions = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      query_timeout: options.queryTimeoutMs ?? 5000,
      max: options.max ?? 10,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'nimbus',
    });
    // An idle connection that breaks must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
    this.db = on(this.pool);
    this.batches = new ActivationBatches((sql, columns) => this.run(sql, columns), {
      lingerMs: options.recordLingerMs ?? 10,
      log: options.log,
    });
    this.queuedRuns = new ReadGroups(
      async (ids) => {
        const rows = await this.all<QueuedRunRow>(QUEUED_RUNS_SELECT, [ids]);
        return new Map(rows.map((r) => [r.activation_id, r]));
      },
      { lingerMs: options.runReadLingerMs ?? 10 },
    );
    this.enqueues = new EnqueueGroups({
      before: () => this.batches.flush(),
      insert: async (columns) =>
        (await this.all<{ activation_id: string }>(ENQUEUE_GROUP, columns)).map((r) => r.activation_id),
      one: (e) => this.enqueueOne(e),
      byKey: this.byKey,
    });
  }

  /**
   * Keeps function records read by name for up to `ttlMs`. Only for a process
   * that drops them (`forgetFunctions`) when any process changes a function:
   * the platform does so on the bus before a deploy or delete answers, and the
   * TTL bounds how stale a record can be if that message was lost.
   */
  cacheFunctions(ttlMs: number): void {
    this.functions = new Map();
    this.functionTtlMs = ttlMs;
  }

  readonly sql: SqlDb = {
    dialect: 'postgres',
    all: (sql, args) => this.all(sql, args),
    get: (sql, args) => this.get(sql, args),
    run: (sql, args) => this.run(sql, args),
    batch: (statements, check) =>
      this.transaction(async (c) => {
        const results = [];
        for (const [i, st] of statements.entries()) {
          const r = await c.query(st.sql, st.args);
          const result = { rows: r.rows, changes: r.changes };
          check?.(result, i);
          results.push(result);
        }
        return results;
      }),
  };

  forgetFunctions(names: string[]): void {
    this.drops++;
    for (const name of names) this.functions?.delete(name);
  }

  private async all<R>(sql: string, args: unknown[] = []): Promise<R[]> {
    return this.db.all<R>(sql, args).catch(translate);
  }

  private async get<R>(sql: string, args: unknown[] = []): Promise<R | undefined> {
    return this.db.get<R>(sql, args).catch(translate);
  }

  /** Runs a statement that changes rows; returns how many it changed. */
  private async run(sql: string, args: unknown[] = []): Promise<number> {
    return this.db.run(sql, args).catch(translate);
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  private async transaction<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      return translate(e);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(on(client));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((re: Error) => (broken = re));
      return translate(e);
    } finally {
      client.release(broken);
    }
  }

  async migrate(): Promise<void> {
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    await this.transaction(async (c) => {
      await c.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      await c.exec(SQL.MIGRATIONS_TABLE);
      const done = new Set((await c.all<{ version: number }>(SQL.MIGRATIONS_APPLIED)).map((r) => r.version));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await c.exec(m.sql);
        await c.run(SQL.MIGRATION_RECORD, [m.version, m.name, new Date().toISOString()]);
      }
    });
  }

  async deployVersion(name: string, config: FunctionConfig, sha: string, artifact: Buffer): Promise<DeployedVersion> {
    const now = new Date().toISOString();
    this.forgetFunctions([name]);
    return this.transaction(async (c) => {
      await c.run(SQL.ARTIFACT_INSERT, [sha, artifact, artifact.length, now]);
      const version = (await c.get<{ last_version: number }>(SQL.VERSION_COUNTER_NEXT, [name]))?.last_version ?? 1;
      await c.run(SQL.VERSION_INSERT, [name, version, JSON.stringify(config), sha, now]);
      // The insert that did not meet an existing row made the function; a racing deploy
      // waits on that row (the counter's, then this one's) and updates it instead.
      const created = (await c.run(SQL.FUNCTION_INSERT, [name, version, now])) === 1;
      if (!created) await c.run(SQL.FUNCTION_POINT, [version, name]);
      return toDeployed(
        { name, version, artifactSha256: sha, artifactBytes: artifact.length, createdAt: now, created },
        config,
      );
    });
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const hit = this.functions?.get(name);
    if (hit && hit.until > Date.now()) return hit.fn;
    const drops = this.drops;
    const row = await this.get<VersionRow>(SQL.FUNCTION_BY_NAME, [name]);
    if (!row) return undefined; // a missing function is never cached: a deploy anywhere counts at once
    const fn = toFunction(row);
    if (!this.functions || drops !== this.drops) return fn;
    if (this.functions.size >= MAX_CACHED_FUNCTIONS) this.functions.clear();
    this.functions.set(name, { fn, until: Date.now() + this.functionTtlMs });
    return fn;
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return (await this.all<VersionRow>(SQL.FUNCTIONS_BY_NAME)).map(toFunction);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const row = await this.get<VersionRow>(SQL.VERSION_BY_NUMBER, [name, version]);
    return row ? toVersion(row) : undefined;
  }

  async deleteFunction(name: string): Promise<boolean> {
    this.forgetFunctions([name]);
    return this.transaction(async (c) => {
      const gone = (await c.run(SQL.FUNCTION_DELETE, [name])) > 0;
      await c.run(SQL.VERSIONS_DELETE, [name]);
      await c.run(SQL.ALIASES_DELETE, [name]);
      return gone;
    });
  }

  async getArtifact(sha: string): Promise<Buffer | undefined> {
    return (await this.get<{ bytes: Buffer }>(SQL.ARTIFACT_SELECT, [sha]))?.bytes;
  }

  /**
   * An answered sync or HTTP call's record is written behind (resolves before
   * its commit, like SQLite's batches); every other record resolves once committed.
   */
  async putActivation(r: ActivationRecord): Promise<void> {
    const behind = (r.trigger === 'sync' || r.trigger === 'http') && r.status !== 'queued' && r.status !== 'running';
    const written = this.batches.write(r, behind);
    if (behind) {
      written.catch((e: unknown) =>
        this.options.log?.('an activation record written behind failed', { err: String(e) }),
      );
      return;
    }
    await written;
  }

  /** A record missing here but created recently (a long call ends long after) may be in another process's write-behind batch: wait for it a little. */
  async getActivation(id: string): Promise<ActivationRecord | undefined> {
    await this.batches.flush();
    for (let i = 0; ; i++) {
      const row = await this.get<{ body: string }>(SQL.ACTIVATION_SELECT, [id]);
      if (row) return toActivation(row);
      const wait = RECENT_RECORD_WAITS[i];
      if (wait === undefined || !(ageOfId(id) < RECENT_RECORD_MS)) return undefined;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async listActivations(query: ActivationQuery): Promise<ActivationRecord[]> {
    await this.batches.flush();
    const { sql, args } = SQL.activationList(query);
    return (await this.all<{ body: string }>(sql, args)).map(toActivation);
  }

  /** Joins the next group of enqueues (enqueue-groups.ts): one statement and one commit for the group. */
  enqueue(
    record: ActivationRecord,
    e: QueueEntry,
    publishAfter: number | null = e.runAt,
  ): Promise<{ activationId: string; duplicate: boolean }> {
    return this.enqueues.enqueue({ record, entry: e, publishAfter });
  }

  /** The activation id holding a function's idempotency key. */
  private readonly byKey = async (functionName: string, key: string): Promise<string | undefined> =>
    (await this.get<{ activation_id: string }>(SQL.QUEUE_BY_KEY, [functionName, key]))?.activation_id;

  /** One enqueue alone: a group's fallback when its statement failed. */
  private async enqueueOne({ record, entry: e, publishAfter }: Enqueue): Promise<Enqueued> {
    const row = await this.get<{ inserted: string | null }>(ENQUEUE, [
      ...queueRow(e),
      ...activationRow(record),
      publishAfter,
    ]);
    if (row?.inserted) return { activationId: row.inserted, duplicate: false };
    return keyHolder(this.byKey, e);
  }

  async getQueueEntry(activationId: string): Promise<QueueEntry | undefined> {
    const row = await this.get<QueueRow>(SQL.QUEUE_SELECT, [activationId]);
    return row ? toQueueEntry(row) : undefined;
  }

  /**
   * Reads that arrive together share one statement (read-groups.ts), after this process's writes of
   * this run. The record went in with its entry (one enqueue statement), so unlike getActivation
   * there is no other process's batch to wait for.
   */
  async getQueuedRun(activationId: string): Promise<{ entry: QueueEntry; record?: ActivationRecord } | undefined> {
    await this.batches.settled(activationId);
    const row = await this.queuedRuns.get(activationId);
    if (!row) return undefined;
    return { entry: toQueueEntry(row), ...(row.body === null ? {} : { record: toActivation({ body: row.body }) }) };
  }

  async pendingQueue(): Promise<QueueEntry[]> {
    return (await this.all<QueueRow>(SQL.QUEUE_PENDING)).map(toQueueEntry);
  }

  async updateQueueEntry(activationId: string, change: QueueChange): Promise<void> {
    // In the next batch of records (one statement, one commit for many runs), after the records written before it.
    await this.batches.changeQueue(activationId, change);
  }

  /**
   * Sweeps on one connection that holds the retention lock for the sweep (a
   * session lock: a process that dies lets go of it); another process already
   * sweeping means this one skips. Each batch is its own short transaction.
   */
  async sweepActivations(policy: RetentionPolicy): Promise<SweepReport> {
    await this.batches.flush();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      return translate(e);
    }
    let broken: Error | undefined;
    try {
      const c = on(client);
      const lock = await c.get<{ got: boolean }>('SELECT pg_try_advisory_lock(?) AS got', [RETENTION_LOCK]);
      if (!lock?.got) return { deleted: 0, more: false, skipped: true };
      const db: RetentionDb = {
        all: (sql, args) => c.all(sql, args),
        write: async (statements) => {
          await client.query('BEGIN');
          try {
            const changed: number[] = [];
            for (const st of statements) changed.push(await c.run(st.sql, st.args));
            await client.query('COMMIT');
            return changed;
          } catch (e) {
            await client.query('ROLLBACK').catch((re: Error) => (broken = re));
            throw e;
          }
        },
      };
      try {
        return await sweepActivations(db, policy);
      } finally {
        await c.run('SELECT pg_advisory_unlock(?)', [RETENTION_LOCK]).catch((e: Error) => (broken = e));
      }
    } catch (e) {
      broken ??= e as Error; // the lock may still be held on this connection: do not hand it back to the pool
      return translate(e);
    } finally {
      client.release(broken);
    }
  }

  async putOutbox(activationId: string, messageId: string, publishAfter: number): Promise<void> {
    await this.run(SQL.OUTBOX_UPSERT, [activationId, messageId, publishAfter]);
  }

  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim[]> {
    return (await this.all<OutboxRow>(OUTBOX_CLAIM, [now, limit, leaseUntil])).map(toOutboxClaim);
  }

  async clearOutbox(activationIds: string[]): Promise<void> {
    if (activationIds.length) await this.run(OUTBOX_DELETE, [activationIds]);
  }

  async ping(): Promise<void> {
    await this.get(SQL.PING);
  }

  async close(): Promise<void> {
    await this.batches.flush().catch(() => undefined);
    await this.pool.end();
  }
}
