// The secrets table's SQL (migration 005), written once for both stores:
// rows are keyed by (namespace, name) and hold only the sealed value
// (secrets-crypto.ts) and its dates. Which functions use a secret is read from
// the stored version configs, so that every version still invokable counts.
import type { SqlDb } from '../storage/sql-db.ts';
import { inNamespace } from './names.ts';

export interface SecretRow {
  name: string;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  name: string;
  created_at: string;
  updated_at: string;
}

const toRow = (r: Row): SecretRow => ({ name: r.name, createdAt: r.created_at, updatedAt: r.updated_at });

/** Stores a sealed value; `created` when the name was new in the namespace. */
export async function upsertSecret(
  sql: SqlDb,
  namespace: string,
  name: string,
  sealed: string,
  now: string,
): Promise<{ created: boolean; row: SecretRow }> {
  // Insert-or-nothing then update tells a create from a replace exactly, even for two PUTs in one millisecond.
  for (;;) {
    const inserted = await sql.run(
      'INSERT INTO secrets (namespace, name, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, name) DO NOTHING',
      [namespace, name, sealed, now, now],
    );
    const created = inserted === 1;
    if (!created) {
      const updated = await sql.run('UPDATE secrets SET sealed = ?, updated_at = ? WHERE namespace = ? AND name = ?', [
        sealed,
        now,
        namespace,
        name,
      ]);
      if (updated === 0) continue; // deleted between the two: insert again
    }
    const row = await sql.get<Row>(
      'SELECT name, created_at, updated_at FROM secrets WHERE namespace = ? AND name = ?',
      [namespace, name],
    );
    if (row) return { created, row: toRow(row) };
  }
}

export async function listSecrets(sql: SqlDb, namespace: string): Promise<SecretRow[]> {
  const rows = await sql.all<Row>(
    'SELECT name, created_at, updated_at FROM secrets WHERE namespace = ? ORDER BY name',
    [namespace],
  );
  return rows.map(toRow);
}

export async function deleteSecret(sql: SqlDb, namespace: string, name: string): Promise<boolean> {
  return (await sql.run('DELETE FROM secrets WHERE namespace = ? AND name = ?', [namespace, name])) > 0;
}

/** The sealed values of these names in the namespace (names absent from the result do not exist). */
export async function sealedSecrets(sql: SqlDb, namespace: string, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await sql.all<{ name: string; sealed: string }>(
    `SELECT name, sealed FROM secrets WHERE namespace = ? AND name IN (${names.map(() => '?').join(', ')})`,
    [namespace, ...names],
  );
  return new Map(rows.map((r) => [r.name, r.sealed]));
}

/** The most recently written secret of any namespace, to check the master key at start. */
export async function newestSecret(
  sql: SqlDb,
): Promise<{ namespace: string; name: string; sealed: string } | undefined> {
  return sql.get('SELECT namespace, name, sealed FROM secrets ORDER BY updated_at DESC LIMIT 1');
}

/** The secret names a stored config refers to: its env mapping and a webhook destination's signing secret. */
export function secretsNamedBy(config: unknown): string[] {
  const c = config as {
    secrets?: Record<string, string>;
    destinations?: Record<string, { secret?: unknown } | undefined>;
  };
  const named = Object.values(c.secrets ?? {});
  for (const d of Object.values(c.destinations ?? {})) if (typeof d?.secret === 'string') named.push(d.secret);
  return named;
}

/** Every stored version in the namespace that refers to the secret: qualified function name → its versions. */
export async function secretUsers(sql: SqlDb, namespace: string, name: string): Promise<Map<string, number[]>> {
  // The LIKE only narrows the scan; the JSON decides.
  const rows = await sql.all<{ name: string; version: number; config: string }>(
    'SELECT name, version, config FROM versions WHERE config LIKE ? ORDER BY name, version',
    [`%${JSON.stringify(name)}%`],
  );
  const users = new Map<string, number[]>();
  for (const r of rows) {
    if (!inNamespace(r.name, namespace) || !secretsNamedBy(JSON.parse(r.config)).includes(name)) continue;
    users.set(r.name, [...(users.get(r.name) ?? []), Number(r.version)]);
  }
  return users;
}
