// The SQL of function state, written once with `?` placeholders for both
// stores (no `?` of their own: PostgreSQL's store numbers them). Every read
// hides expired rows by itself, so an expired key is gone at once; the rows are
// deleted later (SWEEP). Keys order as bytes in both stores (see 008_kv.sql).

const LIVE = '(expires_at IS NULL OR expires_at > ?)';

/** Args: function, key, now. */
export const GET = `SELECT value, expires_at FROM kv WHERE function_name = ? AND key = ? AND ${LIVE}`;

/** Args: function, key, value, expires_at (or null), updated_at. */
export const PUT = `INSERT INTO kv (function_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (function_name, key) DO UPDATE
  SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at`;

/** Args: function, key. Returns the deleted row's expires_at (the caller tells a live key from an expired one). */
export const DELETE = 'DELETE FROM kv WHERE function_name = ? AND key = ? RETURNING expires_at';

const NUMBER_FIRST = `substr(kv.value, 1, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')`;
const EXPIRED = '(kv.expires_at IS NOT NULL AND kv.expires_at <= ?)';

/**
 * One statement, so concurrent increments never lose one. Args: function, key,
 * by (JSON text), updated_at, now, now, now. A missing or expired key starts
 * from `by` (and forgets its expiry); a live key keeps its expiry. A live key
 * whose JSON does not start like a number is left alone and no row comes back.
 */
export const INCREMENT = `INSERT INTO kv (function_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, NULL, ?)
  ON CONFLICT (function_name, key) DO UPDATE SET
    value = CASE WHEN ${EXPIRED} THEN excluded.value
      ELSE CAST(CAST(kv.value AS NUMERIC) + CAST(excluded.value AS NUMERIC) AS TEXT) END,
    expires_at = CASE WHEN ${EXPIRED} THEN NULL ELSE kv.expires_at END,
    updated_at = excluded.updated_at
  WHERE ${EXPIRED} OR ${NUMBER_FIRST}
  RETURNING value`;

const PAGE_WHERE = `substr(key, 1, ?) = ? AND ${LIVE} ORDER BY key LIMIT ?`;
/** Args: function, prefix, prefix length in characters, prefix, now, limit. */
export const LIST_FIRST = `SELECT key, expires_at FROM kv WHERE function_name = ? AND key >= ? AND ${PAGE_WHERE}`;
/** Args: function, cursor (the last key of the previous page), prefix length, prefix, now, limit. */
export const LIST_AFTER = `SELECT key, expires_at FROM kv WHERE function_name = ? AND key > ? AND ${PAGE_WHERE}`;

/** Args: function, now. */
export const SWEEP = 'DELETE FROM kv WHERE function_name = ? AND expires_at <= ?';

/** Args: function. */
export const DELETE_ALL = 'DELETE FROM kv WHERE function_name = ?';
