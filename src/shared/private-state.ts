// Keeps the platform's data directory private: the store with every function's
// env, the API key, the secrets' master key, cached artifacts, runtime state and microVM snapshots are
// the platform's alone (0700 directories, no group or other bits on files).
// At start the directory is created, its known parts are made private before
// anything writes into them, and an existing one with looser modes is walked
// once and tightened (what changed is returned for the log).
//
// Exceptions, because sandboxes that run as other host uids read from here:
// - the data directory itself is 0711 (searchable, not listable): the container
//   engine's user namespace maps containers to unprivileged host uids, and runc
//   reaches the read-only image at containers/.image/rootfs as one of them, so
//   every directory above it must be o+x (src/sandbox/container/identity.ts).
//   Every other entry in it is private, so o+x only leads to containers/.
// - containers/ is left to the container engine, which sets each mode itself:
//   the shared read-only image (0711/0755 directories, 0644 /etc files, the
//   agent 0444), per-sandbox bundles 0711 whose config.json (with env) is 0600.
// - build/ holds the platform's own runtime bundles (guest agent, isolate pool
//   and runtime; no secrets): 0711 directories, files without group/other write
//   bits, so that a sandbox under another uid can be given them by exact path.
import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Parts of the data directory made (0700) before any component writes into them. */
const PRIVATE_DIRS = ['artifacts', 'images', 'microvm', 'runc', 'crun'];
/** Top-level entries a sandbox must reach by path: not walked (containers) or walked with their own rule (build). */
const LEFT_TO_ENGINE = 'containers';
const RUNTIME_BUNDLES = 'build';

export interface ModeChange {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** Creates or tightens the data directory; returns every mode it changed. */
export async function securePlatformState(dataDir: string): Promise<ModeChange[]> {
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  const changes: ModeChange[] = [];
  await setMode(dataDir, 0o711, changes, (await stat(dataDir)).mode);
  for (const name of await readdir(dataDir)) {
    if (name === LEFT_TO_ENGINE) continue;
    await walk(path.join(dataDir, name), name === RUNTIME_BUNDLES ? runtimeMode : privateMode, changes);
  }
  for (const name of PRIVATE_DIRS) await mkdir(path.join(dataDir, name), { mode: 0o700 }).catch(() => undefined);
  if (
    await mkdir(path.join(dataDir, RUNTIME_BUNDLES)).then(
      () => true,
      () => false,
    )
  )
    await chmod(path.join(dataDir, RUNTIME_BUNDLES), 0o711);
  return changes;
}

/** Private: directories 0700; files keep their owner bits and lose every group/other bit. */
function privateMode(isDir: boolean, mode: number): number {
  return isDir ? 0o700 : mode & 0o700;
}

/** Runtime bundles: reachable by exact path, never listable or writable by others. */
function runtimeMode(isDir: boolean, mode: number): number {
  return isDir ? 0o711 : mode & 0o755;
}

async function walk(
  entry: string,
  rule: (isDir: boolean, mode: number) => number,
  changes: ModeChange[],
): Promise<void> {
  const info = await lstat(entry).catch(() => undefined);
  // Symlinks carry no mode of their own on Linux; sockets and fifos are left to their owners.
  if (!info || !(info.isDirectory() || info.isFile())) return;
  await setMode(entry, rule(info.isDirectory(), info.mode & 0o7777), changes, info.mode);
  if (!info.isDirectory()) return;
  for (const name of await readdir(entry).catch(() => [])) await walk(path.join(entry, name), rule, changes);
}

async function setMode(entry: string, mode: number, changes: ModeChange[], current?: number): Promise<void> {
  const before = current ?? (await lstat(entry)).mode;
  if ((before & 0o7777) === mode) return;
  // Failing the start is safer than running with a secret others can read.
  await chmod(entry, mode).catch((e: Error) => {
    throw new Error(
      `cannot make ${entry} private (${e.message}); give it to the platform's user, or use another data directory`,
    );
  });
  changes.push({ path: entry, from: octal(before), to: octal(mode) });
}
