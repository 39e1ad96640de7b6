// Who names one version or alias of a function (`app:3`, `app:prod`): the
// triggers of its namespace, and the sequence steps and destinations of the
// function versions there that can still run by name (each function's current
// version and every version one of its aliases sends calls to). Deleting that
// version or alias is refused while any does (409 naming them,
// routes/versions.ts and routes/aliases.ts), so that none is left pointing at
// something gone. A version an alias sends calls to is refused by the alias
// itself (storage/aliases.ts), so `app:prod` holds its versions through it.
import { TriggerStore } from '../events/trigger-store.ts';
import { aliasVersions } from '../storage/aliases.ts';
import type { Store, VersionRecord } from '../storage/store.ts';
import { DEFAULT_NAMESPACE, splitQualified } from '../tenancy/names.ts';

/** The versions other than the current one that aliases of the namespace's functions send calls to, by function. */
async function aliasedVersions(store: Store, namespace: string): Promise<Map<string, Map<number, string[]>>> {
  // Namespace names are lower-case letters, digits and '-': nothing LIKE would read as a pattern.
  const where = namespace === DEFAULT_NAMESPACE ? "function_name NOT LIKE '%/%'" : 'function_name LIKE ?';
  const rows = await store.sql.all<{ function_name: string; alias: string; version: number | string; weights: string }>(
    `SELECT function_name, alias, version, weights FROM aliases WHERE ${where} ORDER BY alias`,
    namespace === DEFAULT_NAMESPACE ? [] : [`${namespace}/%`],
  );
  const byFunction = new Map<string, Map<number, string[]>>();
  for (const r of rows) {
    const versions = aliasVersions({
      version: Number(r.version),
      weights: JSON.parse(r.weights) as Record<string, number>,
    });
    const of = byFunction.get(r.function_name) ?? new Map<number, string[]>();
    for (const v of versions) of.set(v, [...(of.get(v) ?? []), r.alias]);
    byFunction.set(r.function_name, of);
  }
  return byFunction;
}

/** What one version's config names `ref` as: its steps (a sequence) and its destinations. */
function usesOf(v: VersionRecord, ref: string): string[] {
  const uses: string[] = [];
  if ((v.config.steps ?? []).includes(ref)) uses.push('sequence');
  for (const on of ['onSuccess', 'onFailure'] as const) {
    const target = v.config.destinations?.[on];
    if (target && 'function' in target && target.function === ref) uses.push(`destinations.${on} of`);
  }
  return uses;
}

/**
 * What names `fn` (a qualified name) as `name:qualifier` (a version number or
 * an alias), as text for a message: `trigger "nightly"`, `sequence "pipe"`,
 * `destinations.onFailure of "audit" v2 (alias prod)`. Empty when nothing does.
 */
export async function referrers(store: Store, fn: string, qualifier: string): Promise<string[]> {
  const { namespace, name } = splitQualified(fn);
  const ref = `${name}:${qualifier}`;
  const found: string[] = [];
  for (const t of await new TriggerStore(store.sql).usedBy(fn))
    if (t.spec.function === ref) found.push(`trigger "${t.name}"`);
  const aliased = await aliasedVersions(store, namespace);
  for (const f of await store.listFunctions()) {
    const other = splitQualified(f.name);
    if (other.namespace !== namespace) continue;
    for (const use of usesOf(f, ref)) found.push(`${use} "${other.name}"`);
    for (const [v, aliases] of aliased.get(f.name) ?? []) {
      if (v === f.version || (f.name === fn && String(v) === qualifier)) continue;
      const older = await store.getVersion(f.name, v);
      if (!older) continue;
      const via = `v${v} (alias ${aliases.join(', ')})`;
      for (const use of usesOf(older, ref)) found.push(`${use} "${other.name}" ${via}`);
    }
  }
  return found;
}

/** What names version `version` of `fn` by number (`app:3`). */
export const versionReferrers = (store: Store, fn: string, version: number): Promise<string[]> =>
  referrers(store, fn, String(version));
