// The SQL both stores run, written once: the tables are the same in SQLite and
// PostgreSQL (see each driver's migrations), and so is every statement here.
// Statements use `?` placeholders; the PostgreSQL store numbers them ($1, $2,
// …) with `numbered`, so none may hold a `?` of its own. What a driver writes
// in its own dialect is only what the other one cannot run: PostgreSQL's
// single-statement enqueue and SKIP LOCKED outbox claim, SQLite's pragmas.
import type { ActivationQuery } from './store.ts';

/** A statement with `?` placeholders and its arguments. */
export interface Statement {
  sql: string;
  args: unknown[];
}

/** `?` placeholders as PostgreSQL's $1, $2, … (a statement here has no other question marks). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// Migrations: which ran, recorded in the same transaction as the migration.
export const MIGRATIONS_TABLE =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)';
export const MIGRATIONS_APPLIED = 'SELECT version FROM schema_migrations';
export const MIGRATION_RECORD = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)';

// Functions, versions, artifacts (rows.ts maps the rows to records).
export const VERSION_SELECT =
  'SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size FROM versions v JOIN artifacts a ON a.sha256 = v.artifact_sha256';
export const FUNCTION_SELECT = `SELECT v.name, v.version, v.config, v.artifact_sha256, v.created_at, a.size, f.first_deployed_at
  FROM functions f JOIN versions v ON v.name = f.name AND v.version = f.latest_version JOIN artifacts a ON a.sha256 = v.artifact_sha256`;
export const FUNCTION_BY_NAME = `${FUNCTION_SELECT} WHERE f.name = ?`;
export const FUNCTIONS_BY_NAME = `${FUNCTION_SELECT} ORDER BY f.name`;
export const VERSION_BY_NUMBER = `${VERSION_SELECT} WHERE v.name = ? AND v.version = ?`;

/** Args: sha256, bytes, size, created_at. An artifact already stored stays as it is (same hash, same bytes). */
export const ARTIFACT_INSERT =
  'INSERT INTO artifacts (sha256, bytes, size, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING';
export const ARTIFACT_SELECT = 'SELECT bytes FROM artifacts WHERE sha256 = ?';
/** Args: name. Returns the function's next version number; the counter survives deletes, so a number is never reused. */
export const VERSION_COUNTER_NEXT = `INSERT INTO version_counters (name, last_version) VALUES (?, 1)
  ON CONFLICT (name) DO UPDATE SET last_version = version_counters.last_version + 1 RETURNING last_version`;
/** Args: name, version, config (JSON), artifact_sha256, created_at. */
export const VERSION_INSERT =
  'INSERT INTO versions (name, version, config, artifact_sha256, created_at) VALUES (?, ?, ?, ?, ?)';
/** Args: name, latest_version, first_deployed_at. Changes no row when the function exists (the deploy then points it with FUNCTION_POINT). */
export const FUNCTION_INSERT =
  'INSERT INTO functions (name, latest_version, first_deployed_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING';
/** Args: latest_version, name. */
export const FUNCTION_POINT = 'UPDATE functions SET latest_version = ? WHERE name = ?';
export const FUNCTION_DELETE = 'DELETE FROM functions WHERE name = ?';
export const VERSIONS_DELETE = 'DELETE FROM versions WHERE name = ?';
/** A deleted function's aliases (migration 004) go with it. */
export const ALIASES_DELETE = 'DELETE FROM aliases WHERE function_name = ?';

// Activation records: a few indexed columns and the whole record as JSON (rows.ts: activationRow).
const ACTIVATION_COLUMNS = '(id, function_name, function_version, created_at, status, body)';
/** What an activation upsert does with a record already stored: its later write wins. */
export const ACTIVATION_ON_CONFLICT =
  'ON CONFLICT (id) DO UPDATE SET status = excluded.status, function_version = excluded.function_version, body = excluded.body';

/** The upsert of `rows` activation records in one statement (one row by default). */
export function activationUpsert(rows = 1): string {
  return `INSERT INTO activations ${ACTIVATION_COLUMNS} VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?)').join(', ')}\n  ${ACTIVATION_ON_CONFLICT}`;
}
export const ACTIVATION_UPSERT = activationUpsert();
/** The insert of one activation record, for a statement that selects its six values (PostgreSQL's enqueue). */
export const ACTIVATION_INSERT_INTO = `INSERT INTO activations ${ACTIVATION_COLUMNS}`;
export const ACTIVATION_SELECT = 'SELECT body FROM activations WHERE id = ?';

/** Newest first (ties by id, so pages never overlap), filtered by function and status, before a time. */
export function activationList(q: ActivationQuery): Statement {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.functionName) (where.push('function_name = ?'), args.push(q.functionName));
  // Namespace names hold no LIKE wildcards (tenancy/names.ts); `default` is every name without a '/'.
  if (q.namespace === 'default') where.push("function_name NOT LIKE '%/%'");
  else if (q.namespace) (where.push('function_name LIKE ?'), args.push(`${q.namespace}/%`));
  if (q.status) (where.push('status = ?'), args.push(q.status));
  if (q.before && q.beforeId)
    (where.push('(created_at < ? OR (created_at = ? AND id < ?))'), args.push(q.before, q.before, q.beforeId));
  else if (q.before) (where.push('created_at < ?'), args.push(q.before));
  if (q.after) (where.push('created_at >= ?'), args.push(q.after));
  const sql = `SELECT body FROM activations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
  return { sql, args: [...args, q.limit] };
}

// The async queue (rows.ts: queueRow, toQueueEntry) and its outbox.
export const QUEUE_COLUMNS =
  '(activation_id, function_name, input, attempts, max_attempts, run_at, idempotency_key, state)';
export const QUEUE_INSERT = `INSERT INTO async_queue ${QUEUE_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
/** The columns toQueueEntry reads, named (a prepared `SELECT *` breaks when a migration adds one). */
export const QUEUE_FIELDS = QUEUE_COLUMNS.slice(1, -1);
export const QUEUE_SELECT = `SELECT ${QUEUE_FIELDS} FROM async_queue WHERE activation_id = ?`;
/** Args: function_name, idempotency_key. */
export const QUEUE_BY_KEY = 'SELECT activation_id FROM async_queue WHERE function_name = ? AND idempotency_key = ?';
export const QUEUE_PENDING = `SELECT ${QUEUE_FIELDS} FROM async_queue WHERE state = 'pending' ORDER BY run_at`;
/** Args: attempts, run_at, state (each null to keep), activation_id. */
export const QUEUE_UPDATE =
  'UPDATE async_queue SET attempts = COALESCE(?, attempts), run_at = COALESCE(?, run_at), state = COALESCE(?, state) WHERE activation_id = ?';

/** Args: activation_id, message_id, publish_after. */
export const OUTBOX_INSERT = 'INSERT INTO async_outbox (activation_id, message_id, publish_after) VALUES (?, ?, ?)';
export const OUTBOX_UPSERT = `${OUTBOX_INSERT} ON CONFLICT (activation_id) DO UPDATE SET message_id = excluded.message_id, publish_after = excluded.publish_after`;

export const PING = 'SELECT 1';
