// Plans the functions of nimbus.yaml: each one's deploy is dry-run on the
// server (PUT ?dryRun=1 builds and checks it as a deploy would, storing
// nothing), so every build error is found before the first write. All
// functions are tried and every failure reported, each at its line.
import { CliError } from '../client.ts';
import type { Project } from './load.ts';
import { dependsOn, deployOrder } from './order.ts';
import { deployRequest, type DeployRequest } from './package.ts';
import type { FunctionRow, Step } from './plan-types.ts';
import { errorOf, ok, unsupported, type Remote } from './remote.ts';
import type { FunctionSpec } from './schema.ts';

interface DryRun {
  sha256: string;
  config: Record<string, unknown>;
  change: 'create' | 'update' | 'unchanged';
}

/** Config fields this file may use that an older server's deploy refuses as unknown. */
const NEWER_FIELDS: Record<string, string> = { secrets: 'function secrets', destinations: 'destinations' };

export async function planFunctions(
  project: Project,
  remote: Remote,
  current: Map<string, FunctionRow>,
): Promise<Step[]> {
  const steps: Step[] = [];
  const failures: string[] = [];
  const functions = project.spec.functions;
  const { order, cycle } = deployOrder(functions);
  if (cycle?.some((f) => !current.has(f)))
    throw new CliError(
      `${project.where(['functions', cycle[0] ?? ''])}: functions ${cycle.join(' -> ')} -> ${cycle[0]} name each other (destinations or steps) and not all exist yet, so none can be deployed first; deploy one without the reference, then add it`,
      2,
    );
  for (const name of order) {
    const spec = functions[name] as FunctionSpec;
    const where = project.where(['functions', name]);
    const request = await deployRequest(name, spec, project.dir);
    // Functions of this file that this one names and that do not exist yet: the server would refuse the reference until they are deployed (first, by the order).
    const newDeps = dependsOn(spec, (n) => n in functions && !current.has(n));
    const apply = applyStep(name, request, remote, current.has(name));
    if (newDeps.length && spec.kind === 'sequence') {
      steps.push({
        kind: 'function',
        name,
        change: current.has(name) ? 'update' : 'create',
        detail: `sequence ${spec.steps?.join(' -> ')} (checked by the server once ${newDeps.join(', ')} exist)`,
        apply,
      });
      continue;
    }
    const probe = newDeps.length ? await deployRequest(name, withoutDestinations(spec, newDeps), project.dir) : request;
    const res = await probe.send(remote, true);
    if (res.status >= 400) {
      const { code, message } = errorOf(res);
      const newer = Object.keys(NEWER_FIELDS).find((f) => new RegExp(`unknown fields? .*"${f}"`).test(message));
      if (newer)
        throw unsupported(
          NEWER_FIELDS[newer] ?? newer,
          'PUT /v1/functions/:name',
          project.where(['functions', name, newer]),
        );
      if (res.status === 401 || res.status === 403 || res.status >= 500) ok(res, `planning function ${name}`);
      // The server's message opens with the field it refused ("memoryMb: …", "invalid deploy config: env.X: …").
      const field = /^(?:invalid [^:]+: )?([A-Za-z]+)[.:]/.exec(message)?.[1];
      const at = field && field in spec ? project.where(['functions', name, field]) : where;
      failures.push(`${at}: functions.${name}: ${code}: ${message}`);
      continue;
    }
    const plan = res.body as DryRun;
    // Probed without destinations to functions not made yet: those differ from what is stored, whatever the probe says.
    if (newDeps.length && plan.change === 'unchanged') plan.change = 'update';
    steps.push({
      kind: 'function',
      name,
      change: plan.change,
      detail: describeChange(plan, current.get(name)),
      ...(plan.change === 'unchanged' ? {} : { apply }),
    });
  }
  if (failures.length)
    throw new CliError(
      `${failures.join('\n')}\nnothing was applied: ${failures.length} of ${Object.keys(project.spec.functions).length} functions do not deploy`,
      1,
    );
  return steps;
}

function applyStep(name: string, request: DeployRequest, remote: Remote, exists: boolean): Step['apply'] {
  return async (ctx) => {
    const v = ok<FunctionRow>(await request.send(remote, false), `deploying function ${name}`);
    ctx.versions.set(name, v.version);
    return `${exists ? 'updated' : 'created'} function ${name} v${v.version}`;
  };
}

/** The spec without the destinations that name `functions` (for a dry run before those exist). */
function withoutDestinations(spec: FunctionSpec, functions: string[]): FunctionSpec {
  const keep = (d: NonNullable<FunctionSpec['destinations']>['onSuccess']) =>
    d && 'function' in d && functions.includes(d.function.split(':')[0] ?? d.function) ? undefined : d;
  const onSuccess = keep(spec.destinations?.onSuccess);
  const onFailure = keep(spec.destinations?.onFailure);
  const { destinations: _d, ...rest } = spec;
  return onSuccess || onFailure ? { ...rest, destinations: { onSuccess, onFailure } } : rest;
}

/** For an update: "code" and/or the config fields that differ; for a create, the engine and memory. */
function describeChange(plan: DryRun, before: FunctionRow | undefined): string {
  const steps = plan.config.kind === 'sequence' ? (plan.config.steps as string[]) : undefined;
  if (!before) return steps ? `sequence ${steps.join(' -> ')}` : `${plan.config.engine}, ${plan.config.memoryMb} MB`;
  if (plan.change === 'unchanged') return `v${before.version}`;
  const keys = new Set([...Object.keys(plan.config), ...Object.keys(before.config)]);
  const changed = [...keys].filter((k) => JSON.stringify(plan.config[k]) !== JSON.stringify(before.config[k]));
  // A sequence's artifact is its steps, already named among the config's changes.
  if (!steps && plan.sha256 !== before.artifact.sha256) changed.unshift('code');
  return `v${before.version}: ${changed.join(', ') || 'config'}`;
}
