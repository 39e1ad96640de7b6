// Builds the web dashboard (src/dashboard, Preact + uPlot) into dist/dashboard:
// one esbuild bundle of main.tsx (its CSS beside it) and index.html. Run at
// setup time (scripts/setup.sh), and by the front end when the built files are
// missing or older than the sources, so a fresh clone's `npm start` just works.
// The output is written to a temporary directory and renamed into place, so
// front ends of a cluster building at once never serve half a build.
import { mkdir, readdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SOURCE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = path.resolve(SOURCE_DIR, '../../dist/dashboard');

/** The newest modification time of the sources (and of the libraries they bundle). */
async function newestSource(dir = SOURCE_DIR): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const time = entry.isDirectory() ? await newestSource(file) : (await stat(file)).mtimeMs;
    newest = Math.max(newest, time);
  }
  return newest;
}

/** Whether dist/dashboard is missing or older than a source file. */
export async function isStale(outDir = OUT_DIR): Promise<boolean> {
  try {
    const built = (await stat(path.join(outDir, 'index.html'))).mtimeMs;
    return (await newestSource()) > built;
  } catch {
    return true;
  }
}

export async function buildDashboard(outDir = OUT_DIR): Promise<void> {
  const tmp = `${outDir}.${process.pid}.${Date.now()}.tmp`;
  await mkdir(path.join(tmp, 'assets'), { recursive: true });
  try {
    await build({
      entryPoints: [path.join(SOURCE_DIR, 'main.tsx')],
      bundle: true,
      minify: true,
      format: 'esm',
      target: 'es2022',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      outfile: path.join(tmp, 'assets', 'main.js'),
      logLevel: 'error',
      legalComments: 'none',
    });
    // index.html is written last: its time says the build is complete (isStale reads it).
    await copyFile(path.join(SOURCE_DIR, 'index.html'), path.join(tmp, 'index.html'));
    // Moved aside rather than deleted first: a reader finds the old build or the new, rarely neither.
    const old = `${tmp}.old`;
    await rename(outDir, old).catch(() => undefined);
    await rename(tmp, outDir).catch(async (e: unknown) => {
      // Another process put its build in place between our two renames: theirs is as good.
      if (await isStale(outDir)) throw e;
      await rm(tmp, { recursive: true, force: true });
    });
    await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Builds when stale, checked once per process (a failed build is tried again on the next call). */
const checked = new Map<string, Promise<void>>();
export function ensureDashboard(outDir = OUT_DIR): Promise<void> {
  let done = checked.get(outDir);
  if (!done) {
    done = (async () => {
      if (await isStale(outDir)) await buildDashboard(outDir);
    })();
    done.catch(() => checked.delete(outDir));
    checked.set(outDir, done);
  }
  return done;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildDashboard();
  console.log(`nimbus setup: dashboard built into ${path.relative(process.cwd(), OUT_DIR) || OUT_DIR}`);
}
