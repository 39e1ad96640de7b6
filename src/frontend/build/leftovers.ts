// Removes what build workers of a platform process that no longer runs left
// behind (it was killed before it could clean up): their memory cgroups and
// their workspaces in the temp directory, both named after that process's pid.
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryCgroup } from './memory-cgroup.ts';

/** Prefix of a worker's workspace directory: nimbus-build-<pid>-. */
export const workspacePrefix = (pid: number) => `nimbus-build-${pid}-`;

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const deadOwner = (name: string, pattern: RegExp) => {
  const pid = Number(pattern.exec(name)?.[1]);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !running(pid);
};

export async function removeLeftovers(): Promise<void> {
  for (const name of await MemoryCgroup.names()) {
    if (deadOwner(name, /^(\d+)-\d+$/)) await MemoryCgroup.existing(name).remove({ kill: true });
  }
  for (const name of await readdir(os.tmpdir()).catch(() => [] as string[])) {
    if (deadOwner(name, /^nimbus-build-(\d+)-/))
      await rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}
