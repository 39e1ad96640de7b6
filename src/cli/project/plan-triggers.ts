// Plans the triggers of nimbus.yaml (PUT /v1/triggers/:name {type, ...}) and
// lists the namespace's triggers for --prune. A trigger must start a function
// the file declares or the namespace has, checked before anything is written.
import { compileSchedule } from '../../events/trigger-spec.ts';
import { CliError } from '../client.ts';
import type { Project } from './load.ts';
import type { FunctionRow, Step } from './plan-types.ts';
import { noRoute, ok, unsupported, type Remote } from './remote.ts';
import type { TriggerSpec } from './schema.ts';

const SPEC_FIELDS = ['type', 'schedule', 'timezone', 'function', 'event', 'catchUp', 'topic', 'filter'] as const;

type TriggerRow = { name: string; spec?: Record<string, unknown> } & Record<string, unknown>;

/** The namespace's triggers by name, or undefined on a server without triggers. */
export async function listTriggers(remote: Remote): Promise<Map<string, Record<string, unknown>> | undefined> {
  const res = await remote.call('GET', '/v1/triggers');
  if (noRoute(res)) return undefined;
  const rows = ok<{ triggers: TriggerRow[] }>(res, 'listing triggers').triggers;
  return new Map(rows.map((t) => [t.name, t.spec ?? t]));
}

export function planTriggers(
  project: Project,
  remote: Remote,
  existing: Map<string, Record<string, unknown>> | undefined,
  current: Map<string, FunctionRow>,
  prune: boolean,
): Step[] {
  const triggers = Object.entries(project.spec.triggers ?? {});
  if (triggers.length === 0) return [];
  if (!existing) throw unsupported('triggers', 'GET /v1/triggers', project.where(['triggers']));
  return triggers.map(([name, want]) => {
    const base = want.function.split(':')[0] ?? want.function;
    if (!(base in project.spec.functions) && (prune || !current.has(base)))
      throw new CliError(
        `${project.where(['triggers', name, 'function'])}: triggers.${name}.function: function "${base}" is ${prune ? 'not in this file (--prune would delete it)' : 'neither in this file nor deployed in the namespace'}`,
        2,
      );
    // Triggers cannot be dry-run on the server: a schedule it would refuse is caught here, before any write.
    if (want.type === 'cron') {
      try {
        compileSchedule(want);
      } catch (e) {
        throw new CliError(
          `${project.where(['triggers', name, 'schedule'])}: triggers.${name}: ${(e as Error).message}`,
          2,
        );
      }
    }
    const had = existing.get(name);
    const same =
      had !== undefined &&
      SPEC_FIELDS.every(
        (k) => JSON.stringify(had[k] ?? null) === JSON.stringify((want as Record<string, unknown>)[k] ?? null),
      );
    return {
      kind: 'trigger' as const,
      name,
      change: same ? ('unchanged' as const) : had ? ('update' as const) : ('create' as const),
      detail: describe(want),
      ...(same ? {} : { apply: () => put(remote, name, want) }),
    };
  });
}

async function put(remote: Remote, name: string, spec: TriggerSpec): Promise<string> {
  ok(await remote.call('PUT', `/v1/triggers/${encodeURIComponent(name)}`, { json: spec }), `setting trigger ${name}`);
  return `trigger ${name} (${describe(spec)})`;
}

function describe(t: TriggerSpec): string {
  return t.type === 'cron' ? `cron "${t.schedule}" -> ${t.function}` : `topic ${t.topic} -> ${t.function}`;
}
