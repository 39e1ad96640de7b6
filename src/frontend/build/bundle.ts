// Turns a deploy's code (one source file, or an unpacked directory with
// node_modules) into one CommonJS artifact, content-addressed by sha256, through
// the sandboxed builder; finds a directory's entry (never outside it) and checks
// that the code exports a handler the platform can call.
import { realpath, rm, stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { NimbusError } from '../../shared/errors.ts';
import { unpackArchive, type ArchiveKind, type ArchiveLimits } from './archive.ts';
import type { Builder } from './builder.ts';
import type { Bundle } from './outcome.ts';

export type { Bundle } from './outcome.ts';

const ENTRY_CANDIDATES = [
  'index.ts',
  'index.js',
  'index.mjs',
  'index.cjs',
  'handler.ts',
  'handler.js',
  'main.ts',
  'main.js',
];

/** Whether p is a regular file whose real path lies inside the real directory root. */
async function fileInside(root: string, p: string): Promise<boolean> {
  const st = await stat(p).catch(() => undefined);
  if (!st?.isFile()) return false;
  const [realRoot, real] = await Promise.all([realpath(root), realpath(p)]);
  return real.startsWith(realRoot + path.sep);
}

/** The entry file of an unpacked directory, relative to it: handler "file.export", package.json main, or index.*. */
export async function findEntry(dir: string, handler?: string): Promise<string> {
  const candidate = async (rel: string) =>
    (await fileInside(dir, path.join(dir, rel))) ? path.relative(dir, path.join(dir, rel)) : undefined;
  if (handler?.includes('.')) {
    const base = handler.slice(0, handler.lastIndexOf('.'));
    for (const ext of ['', '.ts', '.js', '.mjs', '.cjs']) {
      const found = await candidate(base + ext);
      if (found) return found;
    }
    throw new NimbusError('bad_request', `handler "${handler}" names file "${base}", which is not in the archive`);
  }
  try {
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { main?: unknown };
    if (typeof pkg.main === 'string') {
      const found = await candidate(pkg.main);
      if (found) return found;
    }
  } catch {
    /* no package.json: look for index files */
  }
  for (const c of ENTRY_CANDIDATES) {
    const found = await candidate(c);
    if (found) return found;
  }
  throw new NimbusError(
    'bad_request',
    `no entry file in the archive: add package.json "main", or one of ${ENTRY_CANDIDATES.join(', ')}`,
  );
}

/** Unpacks an archive (checked as it goes), finds its entry and builds it. */
export async function bundleArchive(
  builder: Builder,
  body: Buffer,
  kind: ArchiveKind,
  limits: ArchiveLimits,
  handler?: string,
): Promise<Bundle> {
  const dir = await unpackArchive(body, kind, limits);
  try {
    return await builder.directory(dir, await findEntry(dir, handler));
  } finally {
    // Gone already when the builder took it; still here when it failed before.
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rejects code that exports no handler the platform can call (when its exports are known). */
export function checkExports(bundle: Bundle, handler?: string): void {
  const wanted = handler ? [handler.slice(handler.lastIndexOf('.') + 1)] : ['handler', 'main', 'default'];
  if (handler && ['fetch'].includes(wanted[0] ?? '')) wanted.push('default');
  if (bundle.exports.includes('default') || wanted.some((w) => bundle.exports.includes(w))) return;
  const found = bundle.exports.length ? `it exports ${bundle.exports.join(', ')}` : 'it exports nothing';
  throw new NimbusError(
    'bad_request',
    handler
      ? `handler "${handler}" is not exported (${found})`
      : `no handler found (${found}): export \`handler(event, context)\`, \`main(params)\` or \`default { fetch(request, env, ctx) }\`, or name one with "handler"`,
  );
}
