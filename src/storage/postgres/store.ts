// The cluster Store on PostgreSQL (`pg` pool): every front end and invoker
// shares it. Artifacts live in the database (bytea), so any invoker can fetch
// and cache them. Migrations run under an advisory lock, so processes starting
// together apply each one once. When the database cannot be reached, calls
// fail fast with `unavailable` (short connect timeout, query timeout) and the
// pool reconnects by itself when it returns.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadMigrations } from '../migrations.ts';
import type { ActivationQuery, ActivationRecord, DeployedVersion, FunctionConfig, FunctionRecord, QueueEntry, Store, VersionRecord } from '../store.ts';
import { toFunction, toQueueEntry, toVersion, type QueueRow, type VersionRow } from '../rows.ts';
import { translate } from './errors.ts';
import type { OutboxClaim } from '../store.ts';
import { sweepActivations, type RetentionDb, type RetentionPolicy, type SweepReport } from '../retention.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Key of the advisory lock held while migrating (any constant unique to nimbus). */
const MIGRATION_LOCK = 7_316_221_001;
/** Key of the advisory lock a process holds while it sweeps old activations (one sweeper at a time). */
export const RETENTION_LOCK = 7_316_221_002;
/** Retention's `?` placeholders as PostgreSQL's $1, $2, … (its statements have no other question marks). */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

export interface PostgresOptions {
  /** Time to open a connection before `unavailable`, ms. */
  connectTimeoutMs?: number;
  /** Time for one query before `unavailable`, ms. */
  queryTimeoutMs?: number;
  /** Connections in the pool. */
  max?: number;
}

const VERSION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size FROM versions v JOIN artifacts a ON a.sha256 = v.artifact_sha256`;
const FUNCTION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size, f.first_deployed_at
  FROM functions f JOIN versions v ON v.name = f.name AND v.version = f.latest_version JOIN artifacts a ON a.sha256 = v.artifact_sha256`;
const UPSERT_ACTIVATION = `INSERT INTO activations (id, function_name, function_version, created_at, status, body) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, function_version = excluded.function_version, body = excluded.body`;
const activationArgs = (r: ActivationRecord) => [r.id, r.functionName, r.functionVersion, r.createdAt, r.status, JSON.stringify(r)];

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;

  constructor(url: string, options: PostgresOptions = {}) {
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
  }

  private async q<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, args)).rows;
    } catch (e) {
      return translate(e);
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      return translate(e);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
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
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const done = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      }
    });
  }

  async deployVersion(name: string, config: FunctionConfig, sha: string, artifact: Buffer): Promise<DeployedVersion> {
    const now = new Date().toISOString();
    return this.tx(async (c) => {
      await c.query('INSERT INTO artifacts (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING', [sha, artifact, artifact.length, now]);
      const counter = await c.query<{ last_version: number }>(
        `INSERT INTO version_counters (name, last_version) VALUES ($1, 1)
         ON CONFLICT (name) DO UPDATE SET last_version = version_counters.last_version + 1 RETURNING last_version`,
        [name],
      );
      const version = counter.rows[0]?.last_version ?? 1;
      await c.query('INSERT INTO versions (name, version, config, artifact_sha256, created_at) VALUES ($1, $2, $3, $4, $5)', [name, version, JSON.stringify(config), sha, now]);
      // The insert that did not meet an existing row made the function; a racing deploy
      // waits on that row (the counter's, then this one's) and updates it instead.
      const inserted = await c.query('INSERT INTO functions (name, latest_version, first_deployed_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, version, now]);
      const created = inserted.rowCount === 1;
      if (!created) await c.query('UPDATE functions SET latest_version = $2 WHERE name = $1', [name, version]);
      return { name, version, config, artifactSha256: sha, artifactBytes: artifact.length, createdAt: now, created };
    });
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const [row] = await this.q<VersionRow>(`${FUNCTION_SELECT} WHERE f.name = $1`, [name]);
    return row ? toFunction(row) : undefined;
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return (await this.q<VersionRow>(`${FUNCTION_SELECT} ORDER BY f.name`)).map(toFunction);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const [row] = await this.q<VersionRow>(`${VERSION_SELECT} WHERE v.name = $1 AND v.version = $2`, [name, version]);
    return row ? toVersion(row) : undefined;
  }

  async deleteFunction(name: string): Promise<boolean> {
    return this.tx(async (c) => {
      const gone = ((await c.query('DELETE FROM functions WHERE name = $1', [name])).rowCount ?? 0) > 0;
      await c.query('DELETE FROM versions WHERE name = $1', [name]);
      return gone;
    });
  }

  async getArtifact(sha: string): Promise<Buffer | undefined> {
    const [row] = await this.q<{ bytes: Buffer }>('SELECT bytes FROM artifacts WHERE sha256 = $1', [sha]);
    return row?.bytes;
  }

  async putActivation(r: ActivationRecord): Promise<void> {
    await this.q(UPSERT_ACTIVATION, activationArgs(r));
  }

  async getActivation(id: string): Promise<ActivationRecord | undefined> {
    const [row] = await this.q<{ body: string }>('SELECT body FROM activations WHERE id = $1', [id]);
    return row ? (JSON.parse(row.body) as ActivationRecord) : undefined;
  }

  async listActivations(query: ActivationQuery): Promise<ActivationRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => (args.push(value), where.push(sql.replace('?', `$${args.length}`)));
    if (query.functionName) add('function_name = ?', query.functionName);
    if (query.status) add('status = ?', query.status);
    if (query.before) add('created_at < ?', query.before);
    args.push(query.limit);
    const sql = `SELECT body FROM activations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`;
    return (await this.q<{ body: string }>(sql, args)).map((r) => JSON.parse(r.body) as ActivationRecord);
  }

  async enqueue(record: ActivationRecord, e: QueueEntry, publishAfter = e.runAt): Promise<{ activationId: string; duplicate: boolean }> {
    // One statement (one round trip, one commit): the queue entry, and the record and outbox row only if the entry went in.
    const [row] = await this.q<{ inserted: string | null }>(
      `WITH q AS (
         INSERT INTO async_queue (activation_id, function_name, input, attempts, max_attempts, run_at, idempotency_key, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (function_name, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING activation_id
       ), a AS (
         INSERT INTO activations (id, function_name, function_version, created_at, status, body)
         SELECT $9, $10, $11, $12, $13, $14 WHERE EXISTS (SELECT 1 FROM q)
         RETURNING id
       ), o AS (
         INSERT INTO async_outbox (activation_id, message_id, publish_after)
         SELECT activation_id, activation_id, $15 FROM q
         RETURNING activation_id
       )
       SELECT (SELECT activation_id FROM q) AS inserted, (SELECT count(*) FROM a) AS records, (SELECT count(*) FROM o) AS outbox`,
      [e.activationId, e.functionName, JSON.stringify(e.input), e.attempts, e.maxAttempts, e.runAt, e.idempotencyKey, e.state, ...activationArgs(record), publishAfter],
    );
    if (row?.inserted) return { activationId: row.inserted, duplicate: false };
    // The key was taken (possibly by a transaction that committed after this statement's snapshot): read it now.
    const [prior] = await this.q<{ activation_id: string }>('SELECT activation_id FROM async_queue WHERE function_name = $1 AND idempotency_key = $2', [e.functionName, e.idempotencyKey]);
    if (!prior) throw new Error(`idempotency key ${e.idempotencyKey} conflicted but no earlier entry was found`);
    return { activationId: prior.activation_id, duplicate: true };
  }

  async getQueueEntry(activationId: string): Promise<QueueEntry | undefined> {
    const [row] = await this.q<QueueRow>('SELECT * FROM async_queue WHERE activation_id = $1', [activationId]);
    return row ? toQueueEntry(row) : undefined;
  }

  async pendingQueue(): Promise<QueueEntry[]> {
    return (await this.q<QueueRow>("SELECT * FROM async_queue WHERE state = 'pending' ORDER BY run_at")).map(toQueueEntry);
  }

  async updateQueueEntry(activationId: string, change: Partial<Pick<QueueEntry, 'attempts' | 'runAt' | 'state'>>): Promise<void> {
    await this.q(
      'UPDATE async_queue SET attempts = COALESCE($2, attempts), run_at = COALESCE($3, run_at), state = COALESCE($4, state) WHERE activation_id = $1',
      [activationId, change.attempts ?? null, change.runAt ?? null, change.state ?? null],
    );
  }

  /**
   * Sweeps on one connection that holds the retention lock for the sweep (a
   * session lock: a process that dies lets go of it); another process already
   * sweeping means this one skips. Each batch is its own short transaction.
   */
  async sweepActivations(policy: RetentionPolicy): Promise<SweepReport> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      return translate(e);
    }
    let broken: Error | undefined;
    try {
      const [lock] = (await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [RETENTION_LOCK])).rows;
      if (!lock?.got) return { deleted: 0, more: false, skipped: true };
      const db: RetentionDb = {
        all: async <R>(sql: string, args: unknown[]) => (await client.query(numbered(sql), args)).rows as R[],
        write: async (statements) => {
          await client.query('BEGIN');
          try {
            const changed: number[] = [];
            for (const st of statements) changed.push((await client.query(numbered(st.sql), st.args)).rowCount ?? 0);
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
        await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]).catch((e: Error) => (broken = e));
      }
    } catch (e) {
      broken ??= e as Error; // the lock may still be held on this connection: do not hand it back to the pool
      return translate(e);
    } finally {
      client.release(broken);
    }
  }

  async putOutbox(activationId: string, messageId: string, publishAfter: number): Promise<void> {
    await this.q(
      `INSERT INTO async_outbox (activation_id, message_id, publish_after) VALUES ($1, $2, $3)
       ON CONFLICT (activation_id) DO UPDATE SET message_id = excluded.message_id, publish_after = excluded.publish_after`,
      [activationId, messageId, publishAfter],
    );
  }

  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim[]> {
    // SKIP LOCKED: relays in several invokers claim disjoint rows instead of waiting on each other.
    const rows = await this.q<{ activation_id: string; message_id: string; state: QueueEntry['state'] | null; run_at: string | null }>(
      `WITH due AS (
         SELECT activation_id FROM async_outbox WHERE publish_after <= $1 ORDER BY publish_after LIMIT $3 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE async_outbox o SET publish_after = $2 FROM due WHERE o.activation_id = due.activation_id
         RETURNING o.activation_id, o.message_id
       )
       SELECT c.activation_id, c.message_id, q.state, q.run_at FROM claimed c LEFT JOIN async_queue q ON q.activation_id = c.activation_id`,
      [now, leaseUntil, limit],
    );
    return rows.map((r) => ({ activationId: r.activation_id, messageId: r.message_id, state: r.state, runAt: r.run_at === null ? null : Number(r.run_at) }));
  }

  async clearOutbox(activationIds: string[]): Promise<void> {
    if (activationIds.length) await this.q('DELETE FROM async_outbox WHERE activation_id = ANY($1)', [activationIds]);
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
