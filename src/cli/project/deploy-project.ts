// `nimbus deploy` with a nimbus.yaml: load and check the file, plan (every
// function dry-run first: a build error stops the deploy before any write),
// print the plan, then apply it step by step. A step that fails stops the rest
// and the report says exactly what was applied before it and what was not.
import { CliError, print } from '../client.ts';
import { loadProject } from './load.ts';
import { makePlan, type Plan } from './plan.ts';
import type { Step } from './plan-types.ts';
import { Remote } from './remote.ts';

export interface ProjectDeployOptions {
  dryRun?: boolean;
  prune?: boolean;
}

const MARK: Record<Step['change'], string> = {
  create: '+ create   ',
  update: '~ update   ',
  unchanged: '= unchanged',
  delete: '- delete   ',
  kept: '! kept     ',
};

export async function deployProject(file: string, o: ProjectDeployOptions): Promise<void> {
  const project = await loadProject(file);
  const remote = new Remote(project.spec.namespace);
  const plan = await makePlan(project, remote, o.prune === true);
  print(formatPlan(file, project.spec.namespace, plan));
  const todo = plan.steps.filter((s) => s.apply);
  if (o.dryRun)
    return print(todo.length ? `dry run: nothing applied (${todo.length} to change)` : 'dry run: nothing to change');
  if (!todo.length) return print('nothing to change: what nimbus.yaml declares is deployed as it says');
  const ctx = { versions: plan.versions };
  const done: string[] = [];
  for (const step of todo) {
    try {
      const what = await step.apply!(ctx);
      done.push(what);
      print(`  ${what}`);
    } catch (e) {
      const left = todo.slice(todo.indexOf(step) + 1).map((s) => `${s.kind} ${s.name}`);
      throw new CliError(
        [
          `failed at ${step.kind} ${step.name}: ${(e as Error).message}`,
          `applied before the failure: ${done.length ? done.join('; ') : 'nothing'}`,
          `not applied: ${[`${step.kind} ${step.name}`, ...left].join(', ')}`,
        ].join('\n'),
        1,
      );
    }
  }
  print(`applied ${done.length} change${done.length === 1 ? '' : 's'}`);
}

export function formatPlan(file: string, namespace: string | undefined, plan: Plan): string {
  const width = Math.max(...plan.steps.map((s) => `${s.kind} ${s.name}`.length), 0);
  const fromEnv = process.env.NIMBUS_NAMESPACE ? `${process.env.NIMBUS_NAMESPACE} (NIMBUS_NAMESPACE)` : undefined;
  const lines = [`plan for ${file} (namespace ${namespace ?? fromEnv ?? 'of the API key; default without one'}):`];
  for (const s of plan.steps) lines.push(`  ${MARK[s.change]}  ${`${s.kind} ${s.name}`.padEnd(width)}  ${s.detail}`);
  if (plan.secrets.length) {
    const state = (e: boolean | undefined) => (e === undefined ? '' : e ? ' (exists)' : ' (MISSING)');
    lines.push(`  secrets that must exist: ${plan.secrets.map((s) => `${s.name}${state(s.exists)}`).join(', ')}`);
  }
  const count = (c: Step['change']) => plan.steps.filter((s) => s.change === c).length;
  lines.push(
    `  ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete, ${count('unchanged')} unchanged` +
      (count('kept') ? `, ${count('kept')} kept` : ''),
  );
  return lines.join('\n');
}
