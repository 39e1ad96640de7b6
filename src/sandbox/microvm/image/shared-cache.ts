// A per-machine cache of what the microvm engine builds once per host and can
// share between data directories (test runs, several platforms): built images,
// the kernel package, VM snapshots and the accelerator probe. Every entry is
// named by a hash of its inputs, so sharing never changes a result; it only
// saves rebuilding. Entries are hard-linked into a data directory (copied when
// the two are on different filesystems). NIMBUS_MICROVM_CACHE=off disables it.
import { copyFile, link, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/** The machine cache directory, or undefined when disabled. */
export function sharedCacheDir(): string | undefined {
  const configured = process.env.NIMBUS_MICROVM_CACHE;
  if (configured === 'off') return undefined;
  if (configured) return path.resolve(configured);
  const base = process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache');
  return path.join(base, 'nimbus', 'microvm');
}

export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Places `from` at `to` atomically: a hard link when possible, else a copy. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  const tmp = `${to}.${process.pid}.${Date.now()}.tmp`;
  try {
    await link(from, tmp);
  } catch {
    await copyFile(from, tmp);
  }
  await rename(tmp, to).catch(async (e: unknown) => {
    await rm(tmp, { force: true });
    throw e;
  });
}

/** Copies the named files of `fromDir` into `toDir` (links), manifest last so that a reader sees all or none. */
export async function linkFiles(fromDir: string, toDir: string, names: string[], manifest: string): Promise<void> {
  for (const name of names) await linkOrCopy(path.join(fromDir, name), path.join(toDir, name));
  await linkOrCopy(path.join(fromDir, manifest), path.join(toDir, manifest));
}

/**
 * Keeps the `keep` most recently used images under `imagesRoot` (a directory
 * of <hash>/manifest.json, whose time `markUsed` moves) and removes the others,
 * with whatever `alsoRemove` names for each (their snapshots). Images are
 * named by a hash of their inputs, so every change of the agent makes one.
 */
export async function pruneImages(
  imagesRoot: string,
  keep: number,
  alsoRemove: (hash: string) => string[] = () => [],
): Promise<string[]> {
  const used: { hash: string; at: number }[] = [];
  for (const hash of await readdir(imagesRoot).catch(() => [] as string[])) {
    const manifest = await stat(path.join(imagesRoot, hash, 'manifest.json')).catch(() => undefined);
    if (manifest) used.push({ hash, at: manifest.mtimeMs });
  }
  const removed = used
    .sort((a, b) => b.at - a.at)
    .slice(keep)
    .map((u) => u.hash);
  for (const hash of removed) {
    for (const dir of [path.join(imagesRoot, hash), ...alsoRemove(hash)])
      await rm(dir, { recursive: true, force: true });
  }
  return removed;
}

/** Records that an image was just used (for pruneImages). */
export async function markUsed(imageDir: string): Promise<void> {
  const now = new Date();
  await utimes(path.join(imageDir, 'manifest.json'), now, now).catch(() => undefined);
}
