// Plans the aliases nimbus.yaml gives its functions (PUT /v1/functions/:name/
// aliases/:alias {version, weights?}). `version: latest` is the version the
// deploy leaves current; a numbered version (or weight) must exist already or
// be the one this deploy makes, checked before anything is written. Aliases a
// deployed function of the file has and the file does not declare are listed
// for --prune.
import { CliError } from '../client.ts';
import type { Project } from './load.ts';
import type { FunctionRow, Step } from './plan-types.ts';
import { noRoute, ok, unsupported, type Remote } from './remote.ts';
import type { AliasSpec } from './schema.ts';

interface AliasRow {
  alias: string;
  version: number;
  weights?: Record<string, number>;
}

/**
 * The alias steps of the file, and the aliases its deployed functions have
 * that it does not declare (--prune deletes them, else they are kept).
 */
export async function planAliases(
  project: Project,
  remote: Remote,
  current: Map<string, FunctionRow>,
  functionSteps: Step[],
): Promise<{ steps: Step[]; extra: { fn: string; alias: string }[] }> {
  const steps: Step[] = [];
  const extra: { fn: string; alias: string }[] = [];
  for (const [name, spec] of Object.entries(project.spec.functions)) {
    const declared = spec.aliases ?? {};
    const before = current.get(name);
    const existing = new Map<string, AliasRow>();
    if (before) {
      const res = await remote.call('GET', `/v1/functions/${encodeURIComponent(name)}/aliases`);
      if (noRoute(res)) {
        if (Object.keys(declared).length === 0) continue; // a server without aliases has none to keep or prune
        throw unsupported('aliases', 'GET /v1/functions/:name/aliases', project.where(['functions', name, 'aliases']));
      }
      for (const a of ok<{ aliases: AliasRow[] }>(res, `reading the aliases of ${name}`).aliases)
        existing.set(a.alias, a);
    }
    for (const alias of existing.keys()) if (!(alias in declared)) extra.push({ fn: name, alias });
    if (!spec.aliases || Object.keys(spec.aliases).length === 0) continue;
    const fnChanges = functionSteps.find((s) => s.name === name)?.change !== 'unchanged';
    // The versions an alias may name: those that exist and the one this deploy makes (numbered one past the newest).
    const newest = before?.version ?? 0;
    const known = await knownVersions(remote, name, before);
    if (fnChanges) known.add(newest + 1);
    for (const [alias, want] of Object.entries(spec.aliases)) {
      const where = project.where(['functions', name, 'aliases', alias]);
      for (const v of [want.version, ...Object.keys(want.weights ?? {}).map(Number)]) {
        if (v !== 'latest' && !known.has(v))
          throw new CliError(
            `${where}: functions.${name}.aliases.${alias}: version ${v} of ${name} does not exist; name a version of GET /v1/functions/${name}/versions or "latest"`,
            2,
          );
      }
      const target = want.version === 'latest' ? (fnChanges ? undefined : before?.version) : want.version;
      const had = existing.get(alias);
      const same = had !== undefined && target === had.version && sameWeights(had.weights, want.weights);
      const label =
        want.version === 'latest'
          ? `latest (${target ? `v${target}` : 'the version this deploy makes'})`
          : `v${want.version}`;
      steps.push({
        kind: 'alias',
        name: `${name}:${alias}`,
        change: same ? 'unchanged' : had ? 'update' : 'create',
        detail: `${had && !same ? `v${had.version} -> ` : ''}${label}${weightsText(want)}`,
        ...(same ? {} : { apply: async (ctx) => put(remote, name, alias, want, ctx.versions.get(name)) }),
      });
    }
  }
  return { steps, extra };
}

async function put(
  remote: Remote,
  name: string,
  alias: string,
  want: AliasSpec,
  latest: number | undefined,
): Promise<string> {
  const version = want.version === 'latest' ? latest : want.version;
  if (version === undefined) throw new CliError(`alias ${name}:${alias}: the version of ${name} is not known`, 1);
  const body = { version, ...(want.weights ? { weights: want.weights } : {}) };
  ok(
    await remote.call('PUT', `/v1/functions/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, {
      json: body,
    }),
    `setting alias ${name}:${alias}`,
  );
  return `alias ${name}:${alias} -> v${version}${weightsText(want)}`;
}

/** The function's versions (GET …/versions), or just its current one on a server without that route. */
async function knownVersions(remote: Remote, name: string, before: FunctionRow | undefined): Promise<Set<number>> {
  if (!before) return new Set();
  const res = await remote.call('GET', `/v1/functions/${encodeURIComponent(name)}/versions`);
  if (res.status >= 400) return new Set(Array.from({ length: before.version }, (_, i) => i + 1));
  return new Set(
    ok<{ versions: { version: number }[] }>(res, `reading the versions of ${name}`).versions.map((v) => v.version),
  );
}

function sameWeights(a: Record<string, number> | undefined, b: Record<string, number> | undefined): boolean {
  const nonZero = (w: Record<string, number> | undefined) =>
    JSON.stringify(
      Object.entries(w ?? {})
        .filter(([, x]) => x > 0)
        .sort(([x], [y]) => Number(x) - Number(y)),
    );
  return nonZero(a) === nonZero(b);
}

function weightsText(want: AliasSpec): string {
  const w = Object.entries(want.weights ?? {});
  return w.length ? `, weights ${w.map(([v, x]) => `v${v}=${x}`).join(' ')}` : '';
}
