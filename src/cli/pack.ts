// Packs a function directory into a gzipped tar for deploy: regular files only
// (symbolic links such as node_modules/.bin are left out), no .git, no nimbus data dir.
import { readdir, readFile, lstat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { DEFAULTS } from '../config/options.ts';

/** Left out: version control, a data dir of nimbus's own (where `nimbus serve` was run in the function's directory), macOS litter. */
const SKIP = new Set(['.git', path.basename(DEFAULTS.dataDir), '.DS_Store']);

async function* files(root: string, rel = ''): AsyncGenerator<string> {
  for (const entry of await readdir(path.join(root, rel), { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* files(root, child);
    else if (entry.isFile()) yield child;
  }
}

export async function packDirectory(dir: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for await (const rel of files(dir)) {
    const full = path.join(dir, rel);
    const st = await lstat(full);
    const content = await readFile(full);
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: rel, mode: st.mode & 0o777, mtime: new Date(0) }, content, (e) => (e ? reject(e) : resolve())),
    );
  }
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}
