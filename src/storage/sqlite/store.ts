// The embedded Store: one SQLite file (better-sqlite3, WAL) under the data
// directory. Every multi-row change runs in one transaction. Activation
// records are written behind, from a worker thread (activation-writer.ts):
// queued records are committed before any other write and before any read of
// activations.
import type Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations } from '../migrations.ts';
import type { ActivationQuery, ActivationRecord, DeployedVersion, FunctionConfig, FunctionRecord, QueueEntry, Store, VersionRecord } from '../store.ts';
import { ACTIVATION_UPSERT, activationRow } from './activation-rows.ts';
import { ActivationWriter, type ActivationWriterOptions } from './activation-writer.ts';
import { openConnection } from './connection.ts';
import type { OutboxClaim } from '../store.ts';
import { sweepActivations, type RetentionPolicy, type SweepReport } from '../retention.ts';
import { deepFreeze, toFunction, toQueueEntry, toVersion, type QueueRow, type VersionRow } from '../rows.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Longest an activation record waits to be committed (a crash loses at most this much). */
export const ACTIVATION_WRITE_DELAY_MS = 10;
/** Free pages given back to the file system per step after a sweep (4 KB pages: 2 MB). */
const VACUUM_STEP_PAGES = 512;

const VERSION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size FROM versions v JOIN artifacts a ON a.sha256 = v.artifact_sha256`;
const FUNCTION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size, f.first_deployed_at
  FROM functions f JOIN versions v ON v.name = f.name AND v.version = f.latest_version JOIN artifacts a ON a.sha256 = v.artifact_sha256`;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Prepared statements by SQL text: preparing costs more than running a small query. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly activationWrites: ActivationWriter;
  /**
   * Each function's current record, read once and frozen (callers share it):
   * this process is the file's only writer, so the cache changes exactly when
   * deployVersion or deleteFunction do.
   */
  private readonly functions = new Map<string, FunctionRecord>();

  constructor(file: string, options: Partial<ActivationWriterOptions> = {}) {
    this.db = openConnection(file);
    this.activationWrites = new ActivationWriter(file, {
      delayMs: options.delayMs ?? ACTIVATION_WRITE_DELAY_MS,
      maxItems: options.maxItems ?? 256,
      onError: options.onError ?? ((e, lost) => process.stderr.write(`nimbus: ${lost} activation records could not be written: ${e.message}\n`)),
    });
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const m of await loadMigrations(MIGRATIONS_DIR)) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  async deployVersion(name: string, config: FunctionConfig, sha: string, artifact: Buffer): Promise<DeployedVersion> {
    await this.activationWrites.flush();
    this.functions.delete(name);
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      this.sql('INSERT OR IGNORE INTO artifacts (sha256, bytes, size, created_at) VALUES (?, ?, ?, ?)').run(sha, artifact, artifact.length, now);
      this.sql('INSERT INTO version_counters (name, last_version) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET last_version = last_version + 1')
        .run(name);
      const { last_version: version } = this.sql('SELECT last_version FROM version_counters WHERE name = ?').get(name) as { last_version: number };
      this.sql('INSERT INTO versions (name, version, config, artifact_sha256, created_at) VALUES (?, ?, ?, ?, ?)').run(name, version, JSON.stringify(config), sha, now);
      const created = this.sql('INSERT INTO functions (name, latest_version, first_deployed_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING').run(name, version, now).changes > 0;
      if (!created) this.sql('UPDATE functions SET latest_version = ? WHERE name = ?').run(version, name);
      return { name, version, config, artifactSha256: sha, artifactBytes: artifact.length, createdAt: now, created };
    })();
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    let fn = this.functions.get(name);
    if (!fn) {
      const row = this.sql(`${FUNCTION_SELECT} WHERE f.name = ?`).get(name) as VersionRow | undefined;
      if (!row) return undefined;
      fn = deepFreeze(toFunction(row));
      this.functions.set(name, fn);
    }
    return fn;
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    const rows = this.sql(`${FUNCTION_SELECT} ORDER BY f.name`).all() as VersionRow[];
    return rows.map(toFunction);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const row = this.sql(`${VERSION_SELECT} WHERE v.name = ? AND v.version = ?`).get(name, version) as VersionRow | undefined;
    return row ? toVersion(row) : undefined;
  }

  async deleteFunction(name: string): Promise<boolean> {
    await this.activationWrites.flush();
    this.functions.delete(name);
    return this.db.transaction(() => {
      const gone = this.sql('DELETE FROM functions WHERE name = ?').run(name).changes > 0;
      this.sql('DELETE FROM versions WHERE name = ?').run(name);
      return gone;
    })();
  }

  async getArtifact(sha: string): Promise<Buffer | undefined> {
    const row = this.sql('SELECT bytes FROM artifacts WHERE sha256 = ?').get(sha) as { bytes: Buffer } | undefined;
    return row?.bytes;
  }

  async putActivation(r: ActivationRecord): Promise<void> {
    this.activationWrites.write(r);
  }

  private writeActivation(r: ActivationRecord): void {
    this.sql(ACTIVATION_UPSERT).run(...activationRow(r));
  }

  async getActivation(id: string): Promise<ActivationRecord | undefined> {
    await this.activationWrites.flush();
    const row = this.sql('SELECT body FROM activations WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as ActivationRecord) : undefined;
  }

  async listActivations(q: ActivationQuery): Promise<ActivationRecord[]> {
    await this.activationWrites.flush();
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.functionName) (where.push('function_name = ?'), args.push(q.functionName));
    if (q.status) (where.push('status = ?'), args.push(q.status));
    if (q.before) (where.push('created_at < ?'), args.push(q.before));
    const sql = `SELECT body FROM activations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.sql(sql).all(...args, q.limit) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as ActivationRecord);
  }

  async enqueue(record: ActivationRecord, e: QueueEntry, publishAfter = e.runAt): Promise<{ activationId: string; duplicate: boolean }> {
    await this.activationWrites.flush();
    return this.db.transaction(() => {
      if (e.idempotencyKey) {
        const prior = this.sql('SELECT activation_id FROM async_queue WHERE function_name = ? AND idempotency_key = ?')
          .get(e.functionName, e.idempotencyKey) as { activation_id: string } | undefined;
        if (prior) return { activationId: prior.activation_id, duplicate: true };
      }
      this.writeActivation(record);
      this.sql('INSERT INTO async_queue (activation_id, function_name, input, attempts, max_attempts, run_at, idempotency_key, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(e.activationId, e.functionName, JSON.stringify(e.input), e.attempts, e.maxAttempts, e.runAt, e.idempotencyKey, e.state);
      this.sql('INSERT INTO async_outbox (activation_id, message_id, publish_after) VALUES (?, ?, ?)').run(e.activationId, e.activationId, publishAfter);
      return { activationId: e.activationId, duplicate: false };
    })();
  }

  async getQueueEntry(activationId: string): Promise<QueueEntry | undefined> {
    const row = this.sql('SELECT * FROM async_queue WHERE activation_id = ?').get(activationId) as QueueRow | undefined;
    return row ? toQueueEntry(row) : undefined;
  }

  async pendingQueue(): Promise<QueueEntry[]> {
    const rows = this.sql("SELECT * FROM async_queue WHERE state = 'pending' ORDER BY run_at").all() as QueueRow[];
    return rows.map(toQueueEntry);
  }

  async updateQueueEntry(activationId: string, change: Partial<Pick<QueueEntry, 'attempts' | 'runAt' | 'state'>>): Promise<void> {
    const cur = await this.getQueueEntry(activationId);
    if (!cur) return;
    const next = { ...cur, ...change };
    await this.activationWrites.flush();
    this.sql('UPDATE async_queue SET attempts = ?, run_at = ?, state = ? WHERE activation_id = ?').run(next.attempts, next.runAt, next.state, activationId);
  }

  /** Retention runs in the writer thread, step by step between batches of records; freed pages go back after. */
  async sweepActivations(policy: RetentionPolicy): Promise<SweepReport> {
    const report = await sweepActivations(this.activationWrites.retentionDb(), policy);
    // A few MB a step, so that records waiting behind it are not held up for long. A file made
    // before auto_vacuum = INCREMENTAL keeps its free pages (the count stops falling): reused, not given back.
    for (let free = Infinity, i = 0; report.deleted > 0 && i < 10_000; i++) {
      const left = await this.activationWrites.vacuum(VACUUM_STEP_PAGES);
      if (left === 0 || left >= free) break;
      free = left;
    }
    return report;
  }

  async putOutbox(activationId: string, messageId: string, publishAfter: number): Promise<void> {
    this.sql('INSERT INTO async_outbox (activation_id, message_id, publish_after) VALUES (?, ?, ?) ON CONFLICT(activation_id) DO UPDATE SET message_id = excluded.message_id, publish_after = excluded.publish_after')
      .run(activationId, messageId, publishAfter);
  }

  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim[]> {
    // This process is the file's only writer: a transaction is claim enough.
    return this.db.transaction(() => {
      const rows = this.sql(
        `SELECT o.activation_id, o.message_id, q.state, q.run_at FROM async_outbox o LEFT JOIN async_queue q ON q.activation_id = o.activation_id
         WHERE o.publish_after <= ? ORDER BY o.publish_after LIMIT ?`,
      ).all(now, limit) as { activation_id: string; message_id: string; state: QueueEntry['state'] | null; run_at: number | null }[];
      const lease = this.sql('UPDATE async_outbox SET publish_after = ? WHERE activation_id = ?');
      for (const r of rows) lease.run(leaseUntil, r.activation_id);
      return rows.map((r) => ({ activationId: r.activation_id, messageId: r.message_id, state: r.state, runAt: r.run_at }));
    })();
  }

  async clearOutbox(activationIds: string[]): Promise<void> {
    const remove = this.sql('DELETE FROM async_outbox WHERE activation_id = ?');
    this.db.transaction(() => {
      for (const id of activationIds) remove.run(id);
    })();
  }

  async ping(): Promise<void> {
    this.sql('SELECT 1').get();
  }

  async close(): Promise<void> {
    try {
      await this.activationWrites.close();
    } finally {
      this.db.close();
    }
  }
}
