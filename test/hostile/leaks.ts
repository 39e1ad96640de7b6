// What a hostile function might leave behind on the host, measured before and
// after: stray processes (by command line), nimbus temp directories, files
// written to /, and the pids of the sandboxes it ran in.
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';

export interface HostSnapshot {
  sleepers: Set<number>;
  tempDirs: Set<string>;
}

/**
 * How long the stray processes that hostile cases start sleep: an odd number,
 * so that a `sleep 300` someone runs on the same machine is not taken for one.
 */
export const STRAY_SLEEP = '317';

async function sleepers(): Promise<Set<number>> {
  const out = new Set<number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd === `sleep\u0000${STRAY_SLEEP}\u0000`) out.add(Number(entry));
  }
  return out;
}

export async function snapshot(): Promise<HostSnapshot> {
  const tempDirs = new Set(
    (await readdir(os.tmpdir())).filter((d) => d.startsWith('nimbus-archive-') || d.startsWith('nimbus-src-')),
  );
  return { sleepers: await sleepers(), tempDirs };
}

/** New stray processes and temp dirs since `before`, waiting briefly for exits. */
export async function leaksSince(before: HostSnapshot): Promise<string[]> {
  for (let i = 0; i < 40; i++) {
    const now = await snapshot();
    const procs = [...now.sleepers].filter((p) => !before.sleepers.has(p));
    const dirs = [...now.tempDirs].filter((d) => !before.tempDirs.has(d));
    if (procs.length === 0 && dirs.length === 0) return [];
    if (i === 39)
      return [...procs.map((p) => `process ${p} (sleep ${STRAY_SLEEP})`), ...dirs.map((d) => `temp dir ${d}`)];
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

/** Whether a pid runs; a zombie (dead, waiting for a parent that never reaps it) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Files the process engine's "write outside /tmp" case is documented to leave: removed here. */
export async function removeRootWrites(): Promise<void> {
  for (const f of await readdir('/')) if (f.startsWith('nimbus-hostile-write-')) await rm(`/${f}`, { force: true });
}
