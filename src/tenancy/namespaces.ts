// Namespaces: the unit a team owns. A namespace holds functions (by qualified
// name), API keys and whatever other features key by it; `default` always
// exists and holds every function made before namespaces. Deleting one with
// functions is refused unless forced. Forced, it deletes the functions first
// (with their triggers and state), then in one transaction its keys, the rows
// other features register (onNamespaceDeleted) and the namespace itself, then
// any function a racing deploy added meanwhile.
import type { SqlDb } from '../storage/sql-db.ts';
import type { Statement } from '../storage/statements.ts';
import { NimbusError } from '../shared/errors.ts';
import { isoTime } from '../shared/iso-time.ts';
import { DEFAULT_NAMESPACE, checkNamespaceName, inNamespace, splitQualified } from './names.ts';
import { parseQuotas, type Quotas } from './quota-spec.ts';

export interface NamespaceInfo {
  name: string;
  quotas: Quotas;
  createdAt: string;
}

interface NamespaceRow {
  name: string;
  quotas: string;
  created_at: string;
}

const toInfo = (r: NamespaceRow): NamespaceInfo => ({
  name: r.name,
  quotas: JSON.parse(r.quotas) as Quotas,
  createdAt: r.created_at,
});

/** A request body named a namespace that does not exist (400: the request, not the URL, is wrong). */
export function unknownNamespace(name: string): NimbusError {
  return new NimbusError(
    'bad_request',
    `namespace "${name.slice(0, 80)}" does not exist; root creates it with POST /v1/namespaces {"name": "${name.slice(0, 80)}"}`,
  );
}

export function namespaceNotFound(name: string): NimbusError {
  return new NimbusError('not_found', `namespace "${name.slice(0, 80)}" does not exist`);
}

/**
 * What other features delete with a namespace (their rows keyed by it), run in the same transaction
 * as the namespace row. A feature registers once, at import: `onNamespaceDeleted((ns) => [{sql, args}])`.
 */
const cleanups: ((namespace: string) => Statement[])[] = [];
export function onNamespaceDeleted(cleanup: (namespace: string) => Statement[]): void {
  cleanups.push(cleanup);
}

export async function createNamespace(sql: SqlDb, name: string, rawQuotas: unknown): Promise<NamespaceInfo> {
  checkNamespaceName(name);
  const info: NamespaceInfo = { name, quotas: parseQuotas(rawQuotas), createdAt: isoTime() };
  const made = await sql.run(
    'INSERT INTO namespaces (name, quotas, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
    [name, JSON.stringify(info.quotas), info.createdAt],
  );
  if (made === 0) throw new NimbusError('conflict', `namespace "${name}" already exists`);
  return info;
}

export async function listNamespaces(sql: SqlDb): Promise<NamespaceInfo[]> {
  return (await sql.all<NamespaceRow>('SELECT name, quotas, created_at FROM namespaces ORDER BY name')).map(toInfo);
}

export async function getNamespace(sql: SqlDb, name: string): Promise<NamespaceInfo | undefined> {
  const row = await sql.get<NamespaceRow>('SELECT name, quotas, created_at FROM namespaces WHERE name = ?', [name]);
  return row ? toInfo(row) : undefined;
}

export async function namespaceExists(sql: SqlDb, name: string): Promise<boolean> {
  if (name === DEFAULT_NAMESPACE) return true;
  return (await sql.get('SELECT 1 AS one FROM namespaces WHERE name = ?', [name])) !== undefined;
}

export interface DeleteDeps {
  sql: SqlDb;
  /** Every function's qualified name. */
  functionNames(): Promise<string[]>;
  /** Deletes one function, forced (with what uses it), and tells the invokers. */
  deleteFunction(qualified: string): Promise<void>;
}

/** Deletes a namespace; with functions only when forced. Returns the bare names of the functions deleted. */
export async function deleteNamespace(deps: DeleteDeps, name: string, force: boolean): Promise<string[]> {
  checkNamespaceName(name);
  if (name === DEFAULT_NAMESPACE)
    throw new NimbusError('bad_request', 'the default namespace cannot be deleted (it holds the platform-wide names)');
  if (!(await getNamespace(deps.sql, name))) throw namespaceNotFound(name);
  const owned = (await deps.functionNames()).filter((q) => inNamespace(q, name));
  const bare = owned.map((q) => splitQualified(q).name);
  if (owned.length > 0 && !force) {
    const shown = bare.slice(0, 20).join(', ') + (bare.length > 20 ? `, and ${bare.length - 20} more` : '');
    throw new NimbusError(
      'conflict',
      `namespace "${name}" still has ${bare.length} function(s): ${shown}; delete them first or add ?force=1 to delete them with it`,
    );
  }
  // Functions first: if one cannot go, the namespace is still whole and the delete can be retried.
  for (const q of owned) await deps.deleteFunction(q).catch(ignoreNotFound);
  await deps.sql.batch([
    ...cleanups.flatMap((c) => c(name)),
    // Its activation records too: a team that later gets the same name must not read the old team's.
    { sql: 'DELETE FROM activations WHERE function_name LIKE ?', args: [`${name}/%`] },
    { sql: 'DELETE FROM api_keys WHERE namespace = ?', args: [name] },
    { sql: 'DELETE FROM namespaces WHERE name = ?', args: [name] },
  ]);
  // A deploy that raced the delete would leave a function in no namespace: nothing acts in it now, so sweep once more.
  for (const q of (await deps.functionNames()).filter((f) => inNamespace(f, name)))
    await deps.deleteFunction(q).catch(ignoreNotFound);
  return bare;
}

/** A function deleted meanwhile by someone else is what was wanted. */
function ignoreNotFound(e: unknown): void {
  if (!(e instanceof NimbusError && e.code === 'not_found')) throw e;
}
