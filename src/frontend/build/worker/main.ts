// The build worker: runs inside the build sandbox (bubblewrap, an unprivileged
// uid, a read-only view of the upload, esbuild and Node, no network), reads one
// request from stdin, bundles it with esbuild twice (ESM to learn the exports,
// CommonJS for the artifact) under the confine plugin, writes the header and
// the artifact to stdout and exits. Usage: node main.ts <upload root>.
import { build, stop, transform, type BuildFailure, type BuildOptions } from 'esbuild';
import path from 'node:path';
import { confineToUpload } from './confine.ts';
import { formatMessages } from './messages.ts';
import { READY, type BuildHeader, type BuildRequest, type Language } from './protocol.ts';

const root = path.resolve(process.argv[2] ?? '/workspace/upload');

const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  write: false,
  logLevel: 'silent',
  legalComments: 'none',
  metafile: true,
  outfile: 'out.js',
  absWorkingDir: root,
  nodePaths: [],
  plugins: [confineToUpload(root)],
};

class CompileError extends Error {}

async function twoPass(options: BuildOptions): Promise<{ code: Uint8Array; exports: string[] }> {
  try {
    const esm = await build({ ...COMMON, ...options, format: 'esm' });
    const exports = Object.values(esm.metafile?.outputs ?? {})[0]?.exports ?? [];
    const cjs = await build({ ...COMMON, ...options, format: 'cjs' });
    const out = cjs.outputFiles?.[0];
    if (!out) throw new Error('esbuild produced no output');
    return { code: out.contents, exports };
  } catch (e) {
    const failure = e as BuildFailure;
    if (Array.isArray(failure.errors) && failure.errors.length > 0)
      throw new CompileError(`the function does not build:\n${formatMessages(failure.errors, root)}`);
    throw e;
  }
}

function fromSource(source: string, language: Language) {
  const ts = language === 'typescript';
  return twoPass({
    stdin: { contents: source, loader: ts ? 'ts' : 'js', sourcefile: ts ? 'index.ts' : 'index.js', resolveDir: root },
  });
}

async function run(request: BuildRequest): Promise<{ code: Uint8Array; exports: string[]; language: Language }> {
  if (request.kind === 'entry') {
    const entry = path.resolve(root, request.entry);
    const r = await twoPass({ entryPoints: [entry] });
    return { ...r, language: /\.tsx?$/.test(entry) ? 'typescript' : 'javascript' };
  }
  if (request.language) return { ...(await fromSource(request.source, request.language)), language: request.language };
  try {
    return { ...(await fromSource(request.source, 'javascript')), language: 'javascript' };
  } catch (jsError) {
    if (!(jsError instanceof CompileError)) throw jsError;
    try {
      return { ...(await fromSource(request.source, 'typescript')), language: 'typescript' };
    } catch (tsError) {
      throw tsError instanceof CompileError ? jsError : tsError;
    }
  }
}

async function readRequest(): Promise<BuildRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as BuildRequest;
}

function reply(header: BuildHeader, code?: Uint8Array): void {
  process.stdout.write(`${JSON.stringify(header)}\n`);
  if (code) process.stdout.write(code);
}

async function main(): Promise<void> {
  // esbuild's service starts before the request is read, and the platform
  // starts the build's clock only at "ready", so a build's time limit is the
  // build's alone, and a warm worker has nothing left to start.
  await transform('');
  process.stdout.write(`${READY}\n`);
  const request = await readRequest();
  try {
    const r = await run(request);
    reply({ ok: true, language: r.language, exports: r.exports, bytes: r.code.byteLength }, r.code);
  } catch (e) {
    if (e instanceof CompileError) reply({ ok: false, message: e.message });
    else reply({ ok: false, crashed: true, message: e instanceof Error ? e.message : String(e) });
  }
  await stop();
}

await main();
