// A function's versions as a list, and deleting one. Versions are made only by
// a deploy (Store.deployVersion); here, through store.sql, the same SQL on
// both stores. Deleting is refused for the version the function points at (as
// Lambda refuses $LATEST: deploy a new one, or delete the function) and for a
// version an alias sends calls to, or that the caller's `referrers` names
// (triggers, steps, destinations: frontend/version-referrers.ts); the first two
// are checked again in the DELETE
// itself, behind the function row's lock an alias write takes too (aliases.ts),
// so a racing alias change or deploy cannot slip between check and write.
import { NimbusError } from '../shared/errors.ts';
import { aliasesOfVersion, lockFunction, weightPattern } from './aliases.ts';
import { toVersion, type VersionRow } from './rows.ts';
import { VERSION_SELECT } from './statements.ts';
import type { Store, VersionRecord } from './store.ts';

export async function listVersions(store: Store, fn: string): Promise<VersionRecord[]> {
  const rows = await store.sql.all<VersionRow>(`${VERSION_SELECT} WHERE v.name = ? ORDER BY v.version`, [fn]);
  return rows.map((r) => toVersion({ ...r, version: Number(r.version), size: Number(r.size) }));
}

async function latestVersion(store: Store, fn: string): Promise<number | undefined> {
  const row = await store.sql.get<{ latest_version: number | string }>(
    'SELECT latest_version FROM functions WHERE name = ?',
    [fn],
  );
  return row ? Number(row.latest_version) : undefined;
}

const DELETE_UNREFERENCED = `DELETE FROM versions WHERE name = ? AND version = ?
  AND version <> (SELECT latest_version FROM functions WHERE name = ?)
  AND NOT EXISTS (SELECT 1 FROM aliases WHERE function_name = ? AND (version = ? OR weights LIKE ?))`;

/**
 * Deletes one version of a function (qualified name); `shown` is the name the
 * caller knows it by, for messages. 404 when the function or version does not
 * exist, 409 for the current version, one an alias names, or one `referrers`
 * finds named elsewhere (each as text, e.g. `trigger "nightly"`).
 */
export async function deleteVersion(
  store: Store,
  fn: string,
  shown: string,
  version: number,
  referrers: () => Promise<string[]> = async () => [],
): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const latest = await latestVersion(store, fn);
    if (latest === undefined) throw new NimbusError('not_found', `function "${shown}" does not exist`);
    if (version === latest) {
      throw new NimbusError(
        'conflict',
        `version ${version} is the current version of "${shown}"; deploy a new version first, or delete the function`,
      );
    }
    const aliases = await aliasesOfVersion(store.sql, fn, version);
    if (aliases.length) {
      throw new NimbusError(
        'conflict',
        `version ${version} of "${shown}" is in use by alias ${aliases.map((a) => `"${a}"`).join(', ')}; move or delete the alias first`,
      );
    }
    const named = await referrers();
    if (named.length) {
      throw new NimbusError(
        'conflict',
        `version ${version} of "${shown}" is named as ${shown}:${version} by ${named.join(', ')}; point them at another version or delete them first`,
      );
    }
    const [, deleted] = await store.sql.batch([
      lockFunction(store.sql, fn),
      { sql: DELETE_UNREFERENCED, args: [fn, version, fn, fn, version, weightPattern(version)] },
    ]);
    if (deleted && deleted.changes > 0) {
      store.forgetFunctions([fn]);
      return;
    }
    if (!(await store.getVersion(fn, version)))
      throw new NimbusError(
        'not_found',
        `function "${shown}" has no version ${version}; see GET /v1/functions/${shown}/versions`,
      );
    // Something changed between the checks and the delete (a deploy, an alias): look again once.
  }
  throw new NimbusError('conflict', `version ${version} of "${shown}" changed while being deleted; try again`);
}
