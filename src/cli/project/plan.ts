// The whole plan of `nimbus deploy` for a nimbus.yaml: functions (dry-run on the
// server), their aliases, the triggers, and what the namespace has that the
// file does not: functions, triggers, and aliases of the file's functions
// (deleted with --prune, else kept and listed). Reads only.
import type { Project } from './load.ts';
import { planAliases } from './plan-aliases.ts';
import { planFunctions } from './plan-functions.ts';
import { listTriggers, planTriggers } from './plan-triggers.ts';
import type { FunctionRow, Step } from './plan-types.ts';
import { noRoute, ok, type Remote } from './remote.ts';

export interface Plan {
  steps: Step[];
  /** The secret names the functions use, and whether each exists (undefined: the server cannot say). */
  secrets: { name: string; exists: boolean | undefined }[];
  /** Versions of the functions the deploy leaves alone (aliases at `latest` take them). */
  versions: Map<string, number>;
}

export async function makePlan(project: Project, remote: Remote, prune: boolean): Promise<Plan> {
  const ns = project.spec.namespace;
  const rows = ok<{ functions: FunctionRow[] }>(
    await remote.call('GET', '/v1/functions'),
    ns ? `listing the functions of namespace "${ns}" (${project.where(['namespace'])})` : 'listing functions',
  );
  const current = new Map(rows.functions.map((f) => [f.name, f]));
  const triggers = await listTriggers(remote);
  const functions = await planFunctions(project, remote, current);
  const { steps: aliases, extra: extraAliases } = await planAliases(project, remote, current, functions);
  const declared = planTriggers(project, remote, triggers, current, prune);
  const extra = (kind: Step['kind'], name: string, route: string): Step =>
    extraStep(remote, prune, kind, name, `${route}/${encodeURIComponent(name)}`);
  const inFile = project.spec.triggers ?? {};
  const extraTriggers = [...(triggers?.keys() ?? [])].filter((t) => !(t in inFile));
  const extraFunctions = [...current.keys()].filter((f) => !(f in project.spec.functions));
  const versions = new Map<string, number>();
  for (const s of functions) {
    const v = current.get(s.name)?.version;
    if (s.change === 'unchanged' && v !== undefined) versions.set(s.name, v);
  }
  return {
    // Triggers go before the aliases and functions they may start, so a prune never leaves one pointing at
    // nothing (and an alias a pruned trigger names is not refused for it).
    steps: [
      ...functions,
      ...aliases,
      ...declared,
      ...extraTriggers.map((t) => extra('trigger', t, '/v1/triggers')),
      ...extraAliases.map((a) =>
        extraStep(
          remote,
          prune,
          'alias',
          `${a.fn}:${a.alias}`,
          `/v1/functions/${encodeURIComponent(a.fn)}/aliases/${encodeURIComponent(a.alias)}`,
        ),
      ),
      ...extraFunctions.map((f) => extra('function', f, '/v1/functions')),
    ],
    secrets: await secretsOf(project, remote),
    versions,
  };
}

/** A step for what the namespace has and the file does not declare: deleted with --prune (DELETE `path`), else kept. */
function extraStep(remote: Remote, prune: boolean, kind: Step['kind'], name: string, path: string): Step {
  return {
    kind,
    name,
    change: prune ? 'delete' : 'kept',
    detail: prune ? '--prune' : 'not in nimbus.yaml (kept; --prune deletes)',
    ...(prune
      ? {
          apply: async () => {
            ok(await remote.call('DELETE', path), `deleting ${kind} ${name}`);
            return `deleted ${kind} ${name}`;
          },
        }
      : {}),
  };
}

async function secretsOf(project: Project, remote: Remote): Promise<Plan['secrets']> {
  const names = new Set<string>();
  for (const fn of Object.values(project.spec.functions)) {
    for (const s of Object.values(fn.secrets ?? {})) names.add(s);
    for (const d of [fn.destinations?.onSuccess, fn.destinations?.onFailure])
      if (d && 'secret' in d && d.secret) names.add(d.secret);
  }
  if (names.size === 0) return [];
  const res = await remote.call('GET', '/v1/secrets');
  const listed =
    res.status < 400 && !noRoute(res)
      ? new Set(
          ((res.body as { secrets?: (string | { name: string })[] })?.secrets ?? []).map((s) =>
            typeof s === 'string' ? s : s.name,
          ),
        )
      : undefined;
  return [...names].sort().map((name) => ({ name, exists: listed ? listed.has(name) : undefined }));
}
