// Builds the guest runtime agent (src/guest/*.guest.ts) into one self-contained
// JavaScript file with esbuild, cached by a hash of its sources, so that every
// sandbox (child process, container, microVM) runs plain `node agent.cjs`.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const GUEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../guest');

async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(GUEST_DIR)).sort()) {
    hash.update(name).update(await readFile(path.join(GUEST_DIR, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Returns the path of the bundled entry (e.g. agent.guest.ts), building it if needed. */
export async function bundleGuest(buildDir: string, entry = 'agent.guest.ts'): Promise<string> {
  const out = path.join(buildDir, `${entry.replace(/\.guest\.ts$/, '')}-${await sourcesHash()}.cjs`);
  try {
    await stat(out);
    return out;
  } catch {
    /* build it */
  }
  await mkdir(buildDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [path.join(GUEST_DIR, entry)],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  await rename(tmp, out);
  return out;
}
