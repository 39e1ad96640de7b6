// Function fixtures for tests, bundled the way the platform bundles a deployed
// function: esbuild, one self-contained CommonJS file per entry, plus the
// sha256 of the file (what the platform uses to address an artifact).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { before } from 'node:test';
import { createTempDir } from './temp.ts';

export interface BundledFunction {
  /** Absolute path of the bundled .cjs file. */
  path: string;
  sha256: string;
}

/**
 * Bundles `<sourceDir>/<name>.ts` for every name into `<outDir>/<name>.cjs`,
 * read-only for all (0444) like the platform's artifact cache. Fails with
 * esbuild's own message when a fixture does not build.
 */
export async function bundleFunctions<N extends string>(
  sourceDir: string,
  outDir: string,
  names: readonly N[],
): Promise<Record<N, BundledFunction>> {
  await build({
    entryPoints: names.map((name) => ({ in: path.join(sourceDir, `${name}.ts`), out: name })),
    outdir: outDir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
  });
  const out = {} as Record<N, BundledFunction>;
  for (const name of names) {
    const file = path.join(outDir, `${name}.cjs`);
    await chmod(file, 0o444);
    out[name] = {
      path: file,
      sha256: createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    };
  }
  return out;
}

/**
 * For a test file or suite: a temp dir now, and a `before` hook that bundles
 * the named fixtures into it. The returned record is filled by that hook, so
 * read it inside tests, not while declaring them.
 */
export async function useBundledFunctions<N extends string>(
  sourceDir: string,
  names: readonly N[],
): Promise<Record<N, BundledFunction>> {
  const outDir = await createTempDir('nimbus-functions', 0o755);
  const bundled = {} as Record<N, BundledFunction>;
  before(async () => {
    Object.assign(bundled, await bundleFunctions(sourceDir, outDir, names));
  });
  return bundled;
}
