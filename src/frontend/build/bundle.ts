// Bundles a function's source (one file, or a directory with node_modules) with
// esbuild into one CommonJS artifact, content-addressed by sha256. Build
// errors become compile_error with esbuild's message and line.
import { build, type BuildFailure, type BuildOptions, type Message } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NimbusError } from '../../shared/errors.ts';

export interface Bundle {
  code: Buffer;
  sha256: string;
  language: 'javascript' | 'typescript';
  /** ESM export names of the entry, when known. */
  exports: string[];
}

const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  write: false,
  logLevel: 'silent',
  legalComments: 'none',
  metafile: true,
  outfile: 'out.js',
};

function formatMessages(errors: Message[]): string {
  return errors
    .slice(0, 5)
    .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text))
    .join('\n');
}

async function twoPass(options: BuildOptions): Promise<{ code: Buffer; exports: string[] }> {
  try {
    const esm = await build({ ...COMMON, ...options, format: 'esm' });
    const exports = Object.values(esm.metafile?.outputs ?? {})[0]?.exports ?? [];
    const cjs = await build({ ...COMMON, ...options, format: 'cjs' });
    const out = cjs.outputFiles?.[0];
    if (!out) throw new NimbusError('internal', 'esbuild produced no output');
    return { code: Buffer.from(out.contents), exports };
  } catch (e) {
    const failure = e as BuildFailure;
    if (Array.isArray(failure.errors)) throw new NimbusError('compile_error', `the function does not build:\n${formatMessages(failure.errors)}`);
    throw e;
  }
}

function finish(code: Buffer, exports: string[], language: Bundle['language']): Bundle {
  return { code, exports, language, sha256: createHash('sha256').update(code).digest('hex') };
}

/** One source file given as text. Without a language, JavaScript is tried, then TypeScript. */
export async function bundleSource(source: string, language?: Bundle['language']): Promise<Bundle> {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'nimbus-src-'));
  try {
    const attempt = (lang: Bundle['language']) =>
      twoPass({ stdin: { contents: source, loader: lang === 'typescript' ? 'ts' : 'js', sourcefile: lang === 'typescript' ? 'index.ts' : 'index.js', resolveDir: empty }, absWorkingDir: empty });
    if (language) {
      const r = await attempt(language);
      return finish(r.code, r.exports, language);
    }
    try {
      const r = await attempt('javascript');
      return finish(r.code, r.exports, 'javascript');
    } catch (jsError) {
      try {
        const r = await attempt('typescript');
        return finish(r.code, r.exports, 'typescript');
      } catch {
        throw jsError;
      }
    }
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}

const ENTRY_CANDIDATES = ['index.ts', 'index.js', 'index.mjs', 'index.cjs', 'handler.ts', 'handler.js', 'main.ts', 'main.js'];

async function exists(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/** The entry file of an unpacked directory: handler "file.export", package.json main, or index.*. */
export async function findEntry(dir: string, handler?: string): Promise<string> {
  if (handler?.includes('.')) {
    const base = handler.slice(0, handler.lastIndexOf('.'));
    for (const ext of ['', '.ts', '.js', '.mjs', '.cjs']) if (await exists(path.join(dir, base + ext))) return path.join(dir, base + ext);
    throw new NimbusError('bad_request', `handler "${handler}" names file "${base}", which is not in the archive`);
  }
  try {
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { main?: unknown };
    if (typeof pkg.main === 'string' && (await exists(path.join(dir, pkg.main)))) return path.join(dir, pkg.main);
  } catch {
    /* no package.json: look for index files */
  }
  for (const c of ENTRY_CANDIDATES) if (await exists(path.join(dir, c))) return path.join(dir, c);
  throw new NimbusError('bad_request', `no entry file in the archive: add package.json "main", or one of ${ENTRY_CANDIDATES.join(', ')}`);
}

export async function bundleDirectory(dir: string, handler?: string): Promise<Bundle> {
  const entry = await findEntry(dir, handler);
  const r = await twoPass({ entryPoints: [entry], absWorkingDir: dir, nodePaths: [] });
  return finish(r.code, r.exports, /\.tsx?$/.test(entry) ? 'typescript' : 'javascript');
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
