// The last resort when a platform exits without disposing its container
// driver (an uncaught error, process.exit): at 'exit' no event loop is left, so
// this removes, synchronously, everything in the driver's scope: runc processes
// still starting a container, the containers (runc delete --force), bundle
// directories, and cgroups (their processes killed first). One platform per
// data directory, as everywhere in nimbus. SIGKILL leaves the work to
// cleanupLeftovers at the next start.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseCgroupMounts } from './cgroup.ts';
import { CONTAINER_PREFIX, SHARED_ENTRIES } from './leftovers.ts';
import type { Runc } from './runc.ts';

export interface DriverScope {
  runc: Runc;
  containersDir: string;
  cgroupParent: string;
}

const COMMAND_TIMEOUT_MS = 10_000;

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function deleteContainersSync({ binary, root }: Runc): void {
  if (!existsSync(root)) return;
  const listed = spawnSync(binary, ['--root', root, 'list', '--format', 'json'], {
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
  });
  let containers: { id: string }[] = [];
  try {
    containers = (JSON.parse(listed.stdout || 'null') as { id: string }[] | null) ?? [];
  } catch {
    /* nothing usable listed: the cgroup sweep still runs */
  }
  for (const { id } of containers) {
    if (id.startsWith(CONTAINER_PREFIX))
      spawnSync(binary, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
  }
}

/** Kills what each cgroup under the scope holds and removes them, then the scope itself. */
function sweepCgroupsSync(cgroupParent: string): void {
  const scopes = parseCgroupMounts(readOr('/proc/self/mounts', '')).map((m) => path.join(m, cgroupParent));
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let round = 0; round < 50; round++) {
    const dirs = scopes.flatMap((scope) =>
      (existsSync(scope) ? readdirSync(scope, { withFileTypes: true }) : [])
        .filter((e) => e.isDirectory())
        .map((e) => path.join(scope, e.name)),
    );
    if (dirs.length === 0) break;
    for (const dir of dirs) {
      for (const pid of readOr(path.join(dir, 'cgroup.procs'), '').split('\n').filter(Boolean)) kill(Number(pid));
      try {
        rmdirSync(dir);
      } catch {
        /* still busy: next round */
      }
    }
    Atomics.wait(pause, 0, 0, 20);
  }
  for (const scope of scopes) {
    try {
      rmdirSync(scope);
    } catch {
      /* absent, or not empty */
    }
  }
}

export function removeScopeSync(scope: DriverScope): void {
  for (const pid of scope.runc.starting) {
    kill(-pid); // runc run and runc init share its process group
    kill(pid);
  }
  deleteContainersSync(scope.runc);
  for (const name of existsSync(scope.containersDir) ? readdirSync(scope.containersDir) : []) {
    if (!SHARED_ENTRIES.has(name)) rmSync(path.join(scope.containersDir, name), { recursive: true, force: true });
  }
  sweepCgroupsSync(scope.cgroupParent);
}
