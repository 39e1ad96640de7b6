// Removes what a killed platform left behind: containers in nimbus's runc root
// (killed, then deleted with their cgroups), bundle directories, and cgroups
// whose runc state was lost (their processes killed, the directories removed).
// Containers the running driver owns are left alone.
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { cgroupDirsUnder, cgroupMountPoints } from './cgroup.ts';
import type { Runc } from './runc.ts';

export const CONTAINER_PREFIX = 'nimbus-';
/** Names in the containers directory that are not bundles. */
export const SHARED_ENTRIES = new Set(['.image']);

export interface LeftoverScope {
  runc: Runc;
  containersDir: string;
  /** cgroupsPath prefix of this driver's containers, e.g. /nimbus/<scope>. */
  cgroupParent: string;
  /** Containers (and their bundle directory names) that are alive and must survive. */
  live: { containerIds: ReadonlySet<string>; bundles: ReadonlySet<string> };
}

export interface LeftoverReport {
  containers: string[];
  bundles: string[];
  cgroups: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killCgroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = (await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(20);
  }
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20 * (attempt + 1));
    }
  }
}

export async function removeLeftovers(scope: LeftoverScope): Promise<LeftoverReport> {
  const report: LeftoverReport = { containers: [], bundles: [], cgroups: [] };
  const { runc, live } = scope;
  for (const c of await runc.list().catch(() => [])) {
    if (!c.id.startsWith(CONTAINER_PREFIX) || live.containerIds.has(c.id)) continue;
    await runc.killAll(c.id);
    await runc.deleteForce(c.id);
    report.containers.push(c.id);
  }
  for (const name of await readdir(scope.containersDir).catch(() => [])) {
    if (SHARED_ENTRIES.has(name) || live.bundles.has(name)) continue;
    await rm(path.join(scope.containersDir, name), { recursive: true, force: true });
    report.bundles.push(name);
  }
  for (const dir of await cgroupDirsUnder(scope.cgroupParent)) {
    if (live.containerIds.has(path.basename(dir))) continue;
    await killCgroup(dir);
    report.cgroups.push(dir);
  }
  return report;
}

/** Removes the driver's own cgroup parent in every hierarchy, where it is empty. */
export async function removeEmptyScope(cgroupParent: string): Promise<void> {
  for (const mount of await cgroupMountPoints()) await rmdir(path.join(mount, cgroupParent)).catch(() => undefined);
}
