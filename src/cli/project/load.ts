// Reads nimbus.yaml into a checked ProjectSpec. Every error names the file, the
// line and column and the field: malformed YAML where the parser stopped, a
// field zod refuses at that field's key (yaml's parseDocument keeps each
// node's range; LineCounter turns offsets into lines), a code path that does
// not exist at its `code:` line.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { CliError } from '../client.ts';
import { ProjectSpec } from './schema.ts';

export interface Project {
  /** The path as the user gave it (messages name it), and its directory (code paths are relative to it). */
  file: string;
  dir: string;
  spec: ProjectSpec;
  /** `file:line:col` of a field, e.g. ['functions', 'api', 'memoryMb']; the nearest enclosing field if absent. */
  where(fieldPath: readonly PropertyKey[]): string;
}

export async function loadProject(file: string): Promise<Project> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file} (${e.code ?? e.message})`, 2);
  });
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const first = doc.errors[0];
  if (first) {
    const [what, context] = first.message.split(/ at line \d+, column \d+:\n\n/);
    throw new CliError(`${at(first.pos[0])}: malformed YAML: ${what}${context ? `\n${context.trimEnd()}` : ''}`, 2);
  }
  const where = (fieldPath: readonly PropertyKey[]) => at(locate(doc, fieldPath));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    // An alias bomb (anchors expanding to millions of nodes) stops here, as does any other unreadable document.
    throw new CliError(`${file}: cannot read the YAML: ${(e as Error).message}`, 2);
  }
  const parsed = ProjectSpec.safeParse(envAsText(raw));
  if (!parsed.success) throw new CliError(parsed.error.issues.map((i) => describe(i, where)).join('\n'), 2);
  const project: Project = { file, dir: path.dirname(path.resolve(file)), spec: parsed.data, where };
  for (const [name, fn] of Object.entries(project.spec.functions)) {
    if (fn.code === undefined) continue;
    const codePath = path.resolve(project.dir, fn.code);
    await stat(codePath).catch(() => {
      throw new CliError(
        `${where(['functions', name, 'code'])}: functions.${name}.code: ${fn.code} does not exist (paths are relative to ${file})`,
        2,
      );
    });
  }
  return project;
}

/**
 * YAML reads `PORT: 8080` or `DEBUG: true` as a number or a boolean; an environment holds text, so
 * env values that are plain scalars become their text (as a shell would see them) before the check.
 */
function envAsText(raw: unknown): unknown {
  const functions = (raw as { functions?: unknown } | null)?.functions;
  if (typeof functions !== 'object' || functions === null) return raw;
  for (const fn of Object.values(functions)) {
    const env = (fn as { env?: unknown } | null)?.env;
    if (typeof env !== 'object' || env === null || Array.isArray(env)) continue;
    for (const [k, v] of Object.entries(env))
      if (typeof v === 'number' || typeof v === 'boolean') (env as Record<string, unknown>)[k] = String(v);
  }
  return raw;
}

function describe(issue: z.core.$ZodIssue, where: Project['where']): string {
  const fieldPath = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const field = fieldPath.map(String).join('.') || '(top level)';
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
      : issue.code === 'invalid_key'
        ? issue.issues.map((k) => k.message).join('; ')
        : issue.message;
  return `${where(fieldPath)}: ${field}: ${message}`;
}

/** The offset of a field's key (or of the deepest enclosing field that exists). */
function locate(doc: Document, fieldPath: readonly PropertyKey[]): number {
  let node: Node | null | undefined = doc.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (const segment of fieldPath) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    if (!pair) break;
    offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
    node = pair.value as Node | null;
  }
  return offset;
}
