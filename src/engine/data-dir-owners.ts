// Which live platforms use a data directory. The container and microvm
// engines name their leftovers by data directory (runc root and bundles in it,
// cgroups and /tmp/nimbus-microvm-* by its hash), not by owner pid; so a
// platform sweeps them only when no other live platform (or invoker) holds the
// same directory: two started from one working directory share `.nimbus`.
// Each platform marks the directory with <dataDir>/platforms/<pid>, holding its
// process start time so that a reused pid is not taken for the dead owner.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const MARKS = 'platforms';

/** The start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or undefined when it does not run. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' ? undefined : fields[19];
}

/** Marks the data directory as used by this process; returns the release. */
export async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const dir = path.join(dataDir, MARKS);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const mark = path.join(dir, String(process.pid));
  await writeFile(mark, (await startTimeOf(process.pid)) ?? '', { mode: 0o600 });
  return () => rm(mark, { force: true });
}

/** Pids of other live platforms that marked the data directory; dead ones' marks are removed. */
export async function otherLiveOwners(dataDir: string): Promise<number[]> {
  const dir = path.join(dataDir, MARKS);
  const live: number[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(name);
    if (!/^\d+$/.test(name) || pid === process.pid) continue;
    const started = await readFile(path.join(dir, name), 'utf8').catch(() => undefined);
    const now = await startTimeOf(pid);
    if (started === undefined) continue; // released meanwhile
    if (now !== undefined && (started === '' || started === now)) live.push(pid);
    else await rm(path.join(dir, name), { force: true });
  }
  return live;
}
