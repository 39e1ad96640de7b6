// Aliases (migration 004): a name such as `prod` for one version of a
// function, with an optional canary split `weights` ({"4": 0.1}: a tenth of
// the calls to version 4, the rest to `version`). Keyed by the function's
// qualified name. Written once in `?` SQL for both stores through store.sql;
// the write checks in the same statement that every version it names exists,
// behind a lock on the function's row that a version delete takes too, so a
// version deleted meanwhile cannot leave an alias pointing nowhere.
import { NimbusError } from '../shared/errors.ts';
import { isoTime } from '../shared/iso-time.ts';
import type { SqlDb } from './sql-db.ts';

export interface AliasRecord {
  /** The function's qualified name. */
  functionName: string;
  alias: string;
  version: number;
  /** Version (as text) → share of calls, each 0–1, together at most 1. */
  weights: Record<string, number>;
  updatedAt: string;
}

interface AliasRow {
  function_name: string;
  alias: string;
  version: number | string;
  weights: string;
  updated_at: string;
}

const COLUMNS = 'function_name, alias, version, weights, updated_at';

const toAlias = (r: AliasRow): AliasRecord => ({
  functionName: r.function_name,
  alias: r.alias,
  version: Number(r.version),
  weights: JSON.parse(r.weights) as Record<string, number>,
  updatedAt: r.updated_at,
});

export async function getAlias(sql: SqlDb, fn: string, alias: string): Promise<AliasRecord | undefined> {
  const row = await sql.get<AliasRow>(`SELECT ${COLUMNS} FROM aliases WHERE function_name = ? AND alias = ?`, [
    fn,
    alias,
  ]);
  return row ? toAlias(row) : undefined;
}

export async function listAliases(sql: SqlDb, fn: string): Promise<AliasRecord[]> {
  const rows = await sql.all<AliasRow>(`SELECT ${COLUMNS} FROM aliases WHERE function_name = ? ORDER BY alias`, [fn]);
  return rows.map(toAlias);
}

/** The versions an alias sends calls to. */
export function aliasVersions(a: Pick<AliasRecord, 'version' | 'weights'>): number[] {
  return [...new Set([a.version, ...Object.keys(a.weights).map(Number)])].sort((x, y) => x - y);
}

/**
 * Makes or moves an alias; `created` says which. Refused (400, nothing
 * written) when a version it names does not exist: the insert selects its row
 * only if every one of them is there, in the same statement.
 */
export async function putAlias(
  sql: SqlDb,
  a: Omit<AliasRecord, 'updatedAt'>,
): Promise<{ alias: AliasRecord; created: boolean }> {
  const versions = aliasVersions(a);
  const record: AliasRecord = { ...a, updatedAt: isoTime() };
  const existed = (await getAlias(sql, a.functionName, a.alias)) !== undefined;
  const upsert = `INSERT INTO aliases (${COLUMNS})
    SELECT ?, ?, CAST(? AS INTEGER), ?, ?
    WHERE (SELECT COUNT(*) FROM versions WHERE name = ? AND version IN (${versions.map(() => '?').join(', ')})) = ?
    ON CONFLICT (function_name, alias) DO UPDATE
    SET version = excluded.version, weights = excluded.weights, updated_at = excluded.updated_at`;
  const args = [a.functionName, a.alias, a.version, JSON.stringify(a.weights), record.updatedAt];
  const write = { sql: upsert, args: [...args, a.functionName, ...versions, versions.length] };
  await sql.batch([lockFunction(sql, a.functionName), write], (result, i) => {
    if (i === 1 && result.changes === 0) {
      throw new NimbusError(
        'bad_request',
        `alias "${a.alias}" names a version that does not exist (it names ${versions.join(', ')}); see GET /v1/functions/:name/versions`,
      );
    }
  });
  return { alias: record, created: !existed };
}

export async function deleteAlias(sql: SqlDb, fn: string, alias: string): Promise<boolean> {
  return (await sql.run('DELETE FROM aliases WHERE function_name = ? AND alias = ?', [fn, alias])) > 0;
}

/**
 * The first statement of an alias write or a version delete: it locks the function's row in
 * PostgreSQL, so that the two (each checking the other's table) run one after the other, and the
 * second sees what the first wrote; SQLite runs every transaction alone anyway.
 */
export function lockFunction(sql: SqlDb, fn: string): { sql: string; args: unknown[] } {
  const lock = sql.dialect === 'postgres' ? ' FOR UPDATE' : '';
  return { sql: `SELECT name FROM functions WHERE name = ?${lock}`, args: [fn] };
}

/** The LIKE pattern that finds a version among an alias's weights (JSON text: `"4":`). */
export const weightPattern = (version: number): string => `%"${version}":%`;

/** The aliases that send calls to a version (its own or through weights). */
export async function aliasesOfVersion(sql: SqlDb, fn: string, version: number): Promise<string[]> {
  const rows = await sql.all<{ alias: string }>(
    'SELECT alias FROM aliases WHERE function_name = ? AND (version = ? OR weights LIKE ?) ORDER BY alias',
    [fn, version, weightPattern(version)],
  );
  return rows.map((r) => r.alias);
}
