// Builds the isolate engine's two guest bundles with esbuild, named by a hash
// of src/guest so that a changed guest is rebuilt and parallel builders agree:
// the pool (Node, CommonJS, isolated-vm left external: a native addon) and the
// runtime (one IIFE that runs inside every isolate, no Node APIs).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const GUEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../guest');

export interface IsolateBundles {
  /** Node entry of the pool process (isolate-pool.guest.ts). */
  pool: string;
  /** Script run in every new isolate (isolate-runtime.guest.ts). */
  runtime: string;
}

async function guestHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(GUEST_DIR)).sort())
    hash.update(name).update(await readFile(path.join(GUEST_DIR, name)));
  // The runtime bundles core-js-pure's URL: another installed version is another runtime.
  hash.update(await readFile(createRequire(import.meta.url).resolve('core-js-pure/package.json')));
  return hash.digest('hex').slice(0, 16);
}

async function buildOnce(out: string, options: Parameters<typeof build>[0]): Promise<string> {
  try {
    await stat(out);
    return out;
  } catch {
    /* build it */
  }
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await build({ ...options, outfile: tmp, bundle: true, minify: true, legalComments: 'none', logLevel: 'silent' });
  await rename(tmp, out);
  return out;
}

export async function bundleIsolateGuest(buildDir: string): Promise<IsolateBundles> {
  await mkdir(buildDir, { recursive: true });
  const hash = await guestHash();
  const [pool, runtime] = await Promise.all([
    buildOnce(path.join(buildDir, `isolate-pool-${hash}.cjs`), {
      entryPoints: [path.join(GUEST_DIR, 'isolate-pool.guest.ts')],
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['isolated-vm'],
    }),
    buildOnce(path.join(buildDir, `isolate-runtime-${hash}.js`), {
      entryPoints: [path.join(GUEST_DIR, 'isolate-runtime.guest.ts')],
      platform: 'neutral',
      format: 'iife',
      target: 'es2022',
      // Functions see these classes and methods: URL.name is 'URL', not what the minifier made of it.
      keepNames: true,
    }),
  ]);
  return { pool, runtime };
}
