// A namespace's name can be deleted and later made again for another team.
// Deleting it deletes its activation records, but a call of the old team that
// was still running (or queued) ends after the delete and writes its record
// under the same qualified name. Every record is stamped when its call was
// accepted, before the delete, so readers of records show a namespace only the
// records made since the namespace of that name was made (`recordsSince`).
import type { SqlDb } from '../storage/sql-db.ts';
import { DEFAULT_NAMESPACE } from './names.ts';

/** The ISO time the current namespace of this name was made; undefined for `default` (it is never remade). */
export async function recordsSince(sql: SqlDb, namespace: string): Promise<string | undefined> {
  if (namespace === DEFAULT_NAMESPACE) return undefined;
  const row = await sql.get<{ created_at: string }>('SELECT created_at FROM namespaces WHERE name = ?', [namespace]);
  return row?.created_at;
}

/** Whether a record (by its createdAt) belongs to the namespace's current life. */
export function ofCurrentLife(createdAt: string, since: string | undefined): boolean {
  return since === undefined || createdAt >= since;
}
