// The embedded Store: one SQLite file (better-sqlite3, WAL) under the data
// directory. Every multi-row change runs in one transaction.
import Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations } from '../migrations.ts';
import type { ActivationQuery, ActivationRecord, FunctionConfig, FunctionRecord, QueueEntry, Store, VersionRecord } from '../store.ts';
import { toFunction, toQueueEntry, toVersion, type QueueRow, type VersionRow } from '../rows.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

const VERSION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size FROM versions v JOIN artifacts a ON a.sha256 = v.artifact_sha256`;
const FUNCTION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size, f.first_deployed_at
  FROM functions f JOIN versions v ON v.name = f.name AND v.version = f.latest_version JOIN artifacts a ON a.sha256 = v.artifact_sha256`;

export class SqliteStore implements Store {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
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

  async deployVersion(name: string, config: FunctionConfig, sha: string, artifact: Buffer): Promise<VersionRecord> {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO artifacts (sha256, bytes, size, created_at) VALUES (?, ?, ?, ?)').run(sha, artifact, artifact.length, now);
      this.db
        .prepare('INSERT INTO version_counters (name, last_version) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET last_version = last_version + 1')
        .run(name);
      const { last_version: version } = this.db.prepare('SELECT last_version FROM version_counters WHERE name = ?').get(name) as { last_version: number };
      this.db.prepare('INSERT INTO versions (name, version, config, artifact_sha256, created_at) VALUES (?, ?, ?, ?, ?)').run(name, version, JSON.stringify(config), sha, now);
      this.db
        .prepare('INSERT INTO functions (name, latest_version, first_deployed_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET latest_version = excluded.latest_version')
        .run(name, version, now);
      return { name, version, config, artifactSha256: sha, artifactBytes: artifact.length, createdAt: now };
    })();
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const row = this.db.prepare(`${FUNCTION_SELECT} WHERE f.name = ?`).get(name) as VersionRow | undefined;
    return row ? toFunction(row) : undefined;
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    const rows = this.db.prepare(`${FUNCTION_SELECT} ORDER BY f.name`).all() as VersionRow[];
    return rows.map((row) => (toFunction(row)));
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const row = this.db.prepare(`${VERSION_SELECT} WHERE v.name = ? AND v.version = ?`).get(name, version) as VersionRow | undefined;
    return row ? toVersion(row) : undefined;
  }

  async deleteFunction(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.db.prepare('DELETE FROM functions WHERE name = ?').run(name).changes > 0;
      this.db.prepare('DELETE FROM versions WHERE name = ?').run(name);
      return gone;
    })();
  }

  async getArtifact(sha: string): Promise<Buffer | undefined> {
    const row = this.db.prepare('SELECT bytes FROM artifacts WHERE sha256 = ?').get(sha) as { bytes: Buffer } | undefined;
    return row?.bytes;
  }

  async putActivation(r: ActivationRecord): Promise<void> {
    this.writeActivation(r);
  }

  private writeActivation(r: ActivationRecord): void {
    this.db
      .prepare(
        `INSERT INTO activations (id, function_name, function_version, created_at, status, body) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, function_version = excluded.function_version, body = excluded.body`,
      )
      .run(r.id, r.functionName, r.functionVersion, r.createdAt, r.status, JSON.stringify(r));
  }

  async getActivation(id: string): Promise<ActivationRecord | undefined> {
    const row = this.db.prepare('SELECT body FROM activations WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as ActivationRecord) : undefined;
  }

  async listActivations(q: ActivationQuery): Promise<ActivationRecord[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.functionName) (where.push('function_name = ?'), args.push(q.functionName));
    if (q.status) (where.push('status = ?'), args.push(q.status));
    if (q.before) (where.push('created_at < ?'), args.push(q.before));
    const sql = `SELECT body FROM activations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as ActivationRecord);
  }

  async enqueue(record: ActivationRecord, e: QueueEntry): Promise<{ activationId: string; duplicate: boolean }> {
    return this.db.transaction(() => {
      if (e.idempotencyKey) {
        const prior = this.db
          .prepare('SELECT activation_id FROM async_queue WHERE function_name = ? AND idempotency_key = ?')
          .get(e.functionName, e.idempotencyKey) as { activation_id: string } | undefined;
        if (prior) return { activationId: prior.activation_id, duplicate: true };
      }
      this.writeActivation(record);
      this.db
        .prepare('INSERT INTO async_queue (activation_id, function_name, input, attempts, max_attempts, run_at, idempotency_key, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(e.activationId, e.functionName, JSON.stringify(e.input), e.attempts, e.maxAttempts, e.runAt, e.idempotencyKey, e.state);
      return { activationId: e.activationId, duplicate: false };
    })();
  }

  async getQueueEntry(activationId: string): Promise<QueueEntry | undefined> {
    const row = this.db.prepare('SELECT * FROM async_queue WHERE activation_id = ?').get(activationId) as QueueRow | undefined;
    return row ? toQueueEntry(row) : undefined;
  }

  async pendingQueue(): Promise<QueueEntry[]> {
    const rows = this.db.prepare("SELECT * FROM async_queue WHERE state = 'pending' ORDER BY run_at").all() as QueueRow[];
    return rows.map(toQueueEntry);
  }

  async updateQueueEntry(activationId: string, change: Partial<Pick<QueueEntry, 'attempts' | 'runAt' | 'state'>>): Promise<void> {
    const cur = await this.getQueueEntry(activationId);
    if (!cur) return;
    const next = { ...cur, ...change };
    this.db.prepare('UPDATE async_queue SET attempts = ?, run_at = ?, state = ? WHERE activation_id = ?').run(next.attempts, next.runAt, next.state, activationId);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
