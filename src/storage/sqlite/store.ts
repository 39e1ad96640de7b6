// The embedded Store: one SQLite file (better-sqlite3, WAL) under the data
// directory, run by this process alone. Every multi-row change runs in one
// transaction. Activation records are written behind, from a worker thread
// (activation-writer.ts): queued records are committed before any other write
// and before any read of activations. The SQL is statements.ts's, shared with
// the PostgreSQL store; only the claim of outbox rows is this store's own.
// Queue and outbox writes are group-committed: many to one transaction, each
// answered once its transaction has committed (group-commit.ts).
import type Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations } from '../migrations.ts';
import { sweepActivations, type RetentionPolicy, type SweepReport } from '../retention.ts';
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
import type { SqlDb, StatementResult } from '../sql-db.ts';
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
import { ActivationWriter, type ActivationWriterOptions } from './activation-writer.ts';
import { openConnection } from './connection.ts';
import { GroupCommit } from './group-commit.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Longest an activation record waits to be committed (a crash loses at most this much). */
export const ACTIVATION_WRITE_DELAY_MS = 10;
/** How often the writer thread checkpoints the WAL after this connection wrote, ms (the writer's own commits checkpoint too). */
const CHECKPOINT_EVERY_MS = 1000;
/** Free pages given back to the file system per step after a sweep (4 KB pages: 2 MB). */
const VACUUM_STEP_PAGES = 512;

/** Due outbox rows with their queue entry's state; this process is the file's only writer, so a transaction is claim enough. */
const OUTBOX_DUE = `SELECT o.activation_id, o.message_id, q.state, q.run_at FROM async_outbox o LEFT JOIN async_queue q ON q.activation_id = o.activation_id
  WHERE o.publish_after <= ? ORDER BY o.publish_after LIMIT ?`;
const OUTBOX_LEASE = 'UPDATE async_outbox SET publish_after = ? WHERE activation_id = ?';
const OUTBOX_DELETE = 'DELETE FROM async_outbox WHERE activation_id = ?';

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
  /** Runs its argument in a transaction (a savepoint when nested): made once, as making one per call costs more than a small write. */
  private readonly transactions: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Queue and outbox writes, many to a transaction (group-commit.ts). */
  private readonly queueWrites: GroupCommit;
  /** Set when this connection commits; the timer then has the writer thread checkpoint. */
  private wrote = false;
  private readonly checkpoints: NodeJS.Timeout;

  constructor(file: string, options: Partial<ActivationWriterOptions> = {}) {
    this.db = openConnection(file);
    this.transactions = this.db.transaction((fn: () => unknown) => fn());
    // A checkpoint fsyncs the file: never on the request thread. The writer thread's connection
    // checkpoints at its own commits (SQLite's default threshold), and at least once a second
    // after this connection wrote (the WAL does not grow while no activation is recorded).
    this.db.pragma('wal_autocheckpoint = 0');
    this.activationWrites = new ActivationWriter(file, {
      delayMs: options.delayMs ?? ACTIVATION_WRITE_DELAY_MS,
      maxItems: options.maxItems ?? 256,
      onError:
        options.onError ??
        ((e, lost) => process.stderr.write(`nimbus: ${lost} activation records could not be written: ${e.message}\n`)),
    });
    this.checkpoints = setInterval(() => {
      if (!this.wrote) return;
      this.wrote = false;
      this.activationWrites
        .retentionDb()
        .all('PRAGMA wal_checkpoint(PASSIVE)', [])
        .catch(() => (this.wrote = true));
    }, CHECKPOINT_EVERY_MS).unref();
    this.queueWrites = new GroupCommit(
      () => this.activationWrites.flush(),
      (fn) => this.transaction(fn),
    );
  }

  readonly sql: SqlDb = {
    dialect: 'sqlite',
    all: async <R>(sql: string, args: unknown[] = []) => this.all<R>(sql, args),
    get: async <R>(sql: string, args: unknown[] = []) => this.get<R>(sql, args),
    run: async (sql: string, args: unknown[] = []) => this.run(sql, args),
    batch: async (statements, check) =>
      this.transaction(() =>
        statements.map((st, i) => {
          const result = this.execute(st.sql, st.args);
          check?.(result, i);
          return result;
        }),
      ),
  };

  forgetFunctions(names: string[]): void {
    for (const name of names) this.functions.delete(name);
  }

  /** One statement, whether or not it returns rows. */
  private execute(sql: string, args: unknown[]): StatementResult {
    const statement = this.prepared(sql);
    if (statement.reader) {
      const rows = statement.all(...args) as Record<string, unknown>[];
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: statement.run(...args).changes };
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private all<R>(sql: string, args: unknown[] = []): R[] {
    return this.prepared(sql).all(...args) as R[];
  }

  private get<R>(sql: string, args: unknown[] = []): R | undefined {
    return this.prepared(sql).get(...args) as R | undefined;
  }

  /** Runs a statement that changes rows; returns how many it changed. */
  private run(sql: string, args: unknown[] = []): number {
    this.wrote = true;
    return this.prepared(sql).run(...args).changes;
  }

  /**
   * Runs `fn` in one transaction (synchronous: nothing else runs on the connection meanwhile).
   * IMMEDIATE: the write lock is taken first, waiting up to busy_timeout for the record writer's
   * thread; a deferred one that read first fails at once with SQLITE_BUSY when it then writes
   * after that thread committed (seen in CI on a version delete).
   */
  private transaction<T>(fn: () => T): T {
    this.wrote = true;
    return this.transactions.immediate(fn) as T;
  }

  async migrate(): Promise<void> {
    this.db.exec(SQL.MIGRATIONS_TABLE);
    const done = new Set(this.all<{ version: number }>(SQL.MIGRATIONS_APPLIED).map((r) => r.version));
    for (const m of await loadMigrations(MIGRATIONS_DIR)) {
      if (done.has(m.version)) continue;
      this.transaction(() => {
        this.db.exec(m.sql);
        this.run(SQL.MIGRATION_RECORD, [m.version, m.name, new Date().toISOString()]);
      });
    }
  }

  async deployVersion(name: string, config: FunctionConfig, sha: string, artifact: Buffer): Promise<DeployedVersion> {
    await this.activationWrites.flush();
    this.functions.delete(name);
    const now = new Date().toISOString();
    return this.transaction(() => {
      this.run(SQL.ARTIFACT_INSERT, [sha, artifact, artifact.length, now]);
      const version = this.get<{ last_version: number }>(SQL.VERSION_COUNTER_NEXT, [name])?.last_version ?? 1;
      this.run(SQL.VERSION_INSERT, [name, version, JSON.stringify(config), sha, now]);
      const created = this.run(SQL.FUNCTION_INSERT, [name, version, now]) > 0;
      if (!created) this.run(SQL.FUNCTION_POINT, [version, name]);
      return toDeployed(
        { name, version, artifactSha256: sha, artifactBytes: artifact.length, createdAt: now, created },
        config,
      );
    });
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    let fn = this.functions.get(name);
    if (!fn) {
      const row = this.get<VersionRow>(SQL.FUNCTION_BY_NAME, [name]);
      if (!row) return undefined;
      fn = toFunction(row);
      this.functions.set(name, fn);
    }
    return fn;
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return this.all<VersionRow>(SQL.FUNCTIONS_BY_NAME).map(toFunction);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const row = this.get<VersionRow>(SQL.VERSION_BY_NUMBER, [name, version]);
    return row ? toVersion(row) : undefined;
  }

  async deleteFunction(name: string): Promise<boolean> {
    await this.activationWrites.flush();
    this.functions.delete(name);
    return this.transaction(() => {
      const gone = this.run(SQL.FUNCTION_DELETE, [name]) > 0;
      this.run(SQL.VERSIONS_DELETE, [name]);
      this.run(SQL.ALIASES_DELETE, [name]);
      return gone;
    });
  }

  async getArtifact(sha: string): Promise<Buffer | undefined> {
    return this.get<{ bytes: Buffer }>(SQL.ARTIFACT_SELECT, [sha])?.bytes;
  }

  async putActivation(r: ActivationRecord): Promise<void> {
    this.activationWrites.write(r);
  }

  async getActivation(id: string): Promise<ActivationRecord | undefined> {
    await this.activationWrites.flush();
    const row = this.get<{ body: string }>(SQL.ACTIVATION_SELECT, [id]);
    return row ? toActivation(row) : undefined;
  }

  async listActivations(query: ActivationQuery): Promise<ActivationRecord[]> {
    await this.activationWrites.flush();
    const { sql, args } = SQL.activationList(query);
    return this.all<{ body: string }>(sql, args).map(toActivation);
  }

  async enqueue(
    record: ActivationRecord,
    e: QueueEntry,
    publishAfter: number | null = e.runAt,
  ): Promise<{ activationId: string; duplicate: boolean }> {
    return this.queueWrites.write(() => {
      if (e.idempotencyKey) {
        const prior = this.get<{ activation_id: string }>(SQL.QUEUE_BY_KEY, [e.functionName, e.idempotencyKey]);
        if (prior) return { activationId: prior.activation_id, duplicate: true };
      }
      this.run(SQL.ACTIVATION_UPSERT, activationRow(record));
      this.run(SQL.QUEUE_INSERT, queueRow(e));
      if (publishAfter !== null) this.run(SQL.OUTBOX_INSERT, [e.activationId, e.activationId, publishAfter]);
      return { activationId: e.activationId, duplicate: false };
    });
  }

  async getQueueEntry(activationId: string): Promise<QueueEntry | undefined> {
    const row = this.get<QueueRow>(SQL.QUEUE_SELECT, [activationId]);
    return row ? toQueueEntry(row) : undefined;
  }

  async getQueuedRun(activationId: string): Promise<{ entry: QueueEntry; record?: ActivationRecord } | undefined> {
    const entry = await this.getQueueEntry(activationId);
    return entry && { entry, record: await this.getActivation(activationId) };
  }

  async pendingQueue(): Promise<QueueEntry[]> {
    return this.all<QueueRow>(SQL.QUEUE_PENDING).map(toQueueEntry);
  }

  async updateQueueEntry(activationId: string, change: QueueChange): Promise<void> {
    await this.queueWrites.write(() =>
      this.run(SQL.QUEUE_UPDATE, [change.attempts ?? null, change.runAt ?? null, change.state ?? null, activationId]),
    );
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
    await this.queueWrites.write(() => this.run(SQL.OUTBOX_UPSERT, [activationId, messageId, publishAfter]));
  }

  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim[]> {
    return this.transaction(() => {
      const rows = this.all<OutboxRow>(OUTBOX_DUE, [now, limit]);
      for (const r of rows) this.run(OUTBOX_LEASE, [leaseUntil, r.activation_id]);
      return rows.map(toOutboxClaim);
    });
  }

  async clearOutbox(activationIds: string[]): Promise<void> {
    if (activationIds.length === 0) return;
    await this.queueWrites.write(() => {
      for (const id of activationIds) this.run(OUTBOX_DELETE, [id]);
    });
  }

  async ping(): Promise<void> {
    this.get(SQL.PING);
  }

  async close(): Promise<void> {
    clearInterval(this.checkpoints);
    try {
      await this.activationWrites.close();
    } finally {
      this.db.close();
    }
  }
}
