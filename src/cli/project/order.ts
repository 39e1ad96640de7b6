// The order a project's functions deploy in: a function that another one names
// (a destination's function, a sequence's step) goes first, since the server
// refuses a config naming a function that does not exist yet. A cycle keeps
// the file's order (the server refuses a sequence cycle with its own message).
import type { FunctionSpec } from './schema.ts';

/** The functions of the file that `spec` names (bare names, without `:version` or `:alias`). */
export function dependsOn(spec: FunctionSpec, inFile: (name: string) => boolean): string[] {
  const refs = [
    ...(spec.steps ?? []),
    ...[spec.destinations?.onSuccess, spec.destinations?.onFailure].flatMap((d) =>
      d && 'function' in d ? [d.function] : [],
    ),
  ];
  return [...new Set(refs.map((r) => r.split(':')[0] ?? r))].filter(inFile);
}

/**
 * The function names, each after the ones it depends on (depth first, the file's order otherwise),
 * and the first cycle met, if any (each name in it depends on the next, the last on the first).
 */
export function deployOrder(functions: Record<string, FunctionSpec>): { order: string[]; cycle?: string[] } {
  const order: string[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  let cycle: string[] | undefined;
  const visit = (name: string) => {
    if (done.has(name)) return;
    const open = stack.indexOf(name);
    if (open >= 0) {
      cycle ??= stack.slice(open);
      return;
    }
    stack.push(name);
    const spec = functions[name];
    if (spec) for (const dep of dependsOn(spec, (n) => n in functions)) visit(dep);
    stack.pop();
    done.add(name);
    order.push(name);
  };
  for (const name of Object.keys(functions)) visit(name);
  return cycle ? { order, cycle } : { order };
}
