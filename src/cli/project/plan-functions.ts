// Plans the functions of nimbus.yaml: each one's deploy is dry-run on the
// server (PUT ?dryRun=1 builds and checks it as a deploy would, storing
// nothing), so every build error is found before the first write. All
// functions are tried and every failure reported, each at its line.
import { CliError } from '../client.ts';
import type { Project } from './load.ts';
import { deployRequest } from './package.ts';
import type { FunctionRow, Step } from './plan-types.ts';
import { errorOf, ok, unsupported, type Remote } from './remote.ts';

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
  for (const [name, spec] of Object.entries(project.spec.functions)) {
    const where = project.where(['functions', name]);
    const request = await deployRequest(name, spec, project.dir);
    const res = await request.send(remote, true);
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
    const before = current.get(name);
    steps.push({
      kind: 'function',
      name,
      change: plan.change,
      detail: describeChange(plan, before),
      ...(plan.change === 'unchanged'
        ? {}
        : {
            apply: async (ctx) => {
              const v = ok<FunctionRow>(await request.send(remote, false), `deploying function ${name}`);
              ctx.versions.set(name, v.version);
              return `${plan.change === 'create' ? 'created' : 'updated'} function ${name} v${v.version}`;
            },
          }),
    });
  }
  if (failures.length)
    throw new CliError(
      `${failures.join('\n')}\nnothing was applied: ${failures.length} of ${Object.keys(project.spec.functions).length} functions do not deploy`,
      1,
    );
  return steps;
}

/** For an update: "code" and/or the config fields that differ; for a create, the engine and memory. */
function describeChange(plan: DryRun, before: FunctionRow | undefined): string {
  if (!before) return `${plan.config.engine}, ${plan.config.memoryMb} MB`;
  if (plan.change === 'unchanged') return `v${before.version}`;
  const keys = new Set([...Object.keys(plan.config), ...Object.keys(before.config)]);
  const changed = [...keys].filter((k) => JSON.stringify(plan.config[k]) !== JSON.stringify(before.config[k]));
  if (plan.sha256 !== before.artifact.sha256) changed.unshift('code');
  return `v${before.version}: ${changed.join(', ') || 'config'}`;
}
