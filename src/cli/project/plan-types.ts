// The plan of a project deploy: one step per function, alias and trigger, each
// saying what it will change and how to apply it. Steps apply in order; one that
// fails stops the rest, and the report names what was applied before it.

export type Change = 'create' | 'update' | 'unchanged' | 'delete' | 'kept';

export interface ApplyContext {
  /** The version each function of the file has once its step ran (aliases at `latest` take it). */
  versions: Map<string, number>;
}

export interface Step {
  kind: 'function' | 'alias' | 'trigger';
  /** `api`, `api:prod` (an alias), `nightly` (a trigger). */
  name: string;
  change: Change;
  /** What changes, e.g. "code, memoryMb" or "v2 -> latest". */
  detail: string;
  /** Absent for unchanged and kept steps. Resolves to what was done, e.g. "created function api v1". */
  apply?: (ctx: ApplyContext) => Promise<string>;
}

export interface FunctionRow {
  name: string;
  version: number;
  config: Record<string, unknown>;
  artifact: { sha256: string };
}
