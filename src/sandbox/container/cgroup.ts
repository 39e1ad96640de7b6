// Reads a container's cgroups: memory in use and whether the kernel's OOM
// killer struck. cgroup v1 (one hierarchy per controller, as on the project's
// machines) and a pure cgroup v2 host are both understood.
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
const isV1 = existsSync(path.join(CGROUP_ROOT, 'memory', 'memory.usage_in_bytes'));

/** The memory cgroup directory of a container with this cgroupsPath. */
export function memoryCgroupDir(cgroupsPath: string): string {
  return isV1 ? path.join(CGROUP_ROOT, 'memory', cgroupsPath) : path.join(CGROUP_ROOT, cgroupsPath);
}

function statValue(stat: string, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(stat);
  return m ? Number(m[1]) : undefined;
}

/**
 * Memory in use in MB, as a working set: usage minus page cache the kernel can
 * drop at once (inactive files), the measure docker stats and the kubelet use.
 */
export async function memoryUsageMb(dir: string): Promise<number | undefined> {
  try {
    const [usage, stat] = await Promise.all([
      readFile(path.join(dir, isV1 ? 'memory.usage_in_bytes' : 'memory.current'), 'utf8'),
      readFile(path.join(dir, 'memory.stat'), 'utf8'),
    ]);
    const inactive = statValue(stat, isV1 ? 'total_inactive_file' : 'inactive_file') ?? 0;
    return Math.max(0, Number(usage) - inactive) / (1024 * 1024);
  } catch {
    return undefined;
  }
}

export interface OomState {
  /** Processes the kernel's OOM killer killed in this cgroup (undefined: kernel older than 4.13). */
  oomKills: number | undefined;
  /** Whether the cgroup is out of memory right now (v1). */
  underOom: boolean;
  /** Times usage hit the limit (v1 memory.failcnt; v2 memory.events max). */
  limitHits: number;
}

export async function readOomState(dir: string): Promise<OomState | undefined> {
  try {
    if (isV1) {
      const control = await readFile(path.join(dir, 'memory.oom_control'), 'utf8');
      const failcnt = await readFile(path.join(dir, 'memory.failcnt'), 'utf8');
      return {
        oomKills: statValue(control, 'oom_kill'),
        underOom: (statValue(control, 'under_oom') ?? 0) > 0,
        limitHits: Number(failcnt),
      };
    }
    const events = await readFile(path.join(dir, 'memory.events'), 'utf8');
    return { oomKills: statValue(events, 'oom_kill'), underOom: false, limitHits: statValue(events, 'max') ?? 0 };
  } catch {
    return undefined;
  }
}

/** Whether the kernel's OOM killer struck in the cgroup (hitting the limit only counts where no OOM-kill counter exists). */
export function killedForMemory(s: OomState | undefined): boolean {
  if (!s) return false;
  return s.underOom || (s.oomKills === undefined ? s.limitHits > 0 : s.oomKills > 0);
}

/** The limits the kernel holds for the cgroup: memory bytes and CPU quota (microseconds per period). */
export async function readLimits(cgroupsPath: string): Promise<{ memoryBytes?: number; cpuQuotaUs?: number }> {
  const read = (file: string) =>
    readFile(file, 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    );
  if (isV1) {
    const memory = await read(path.join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.limit_in_bytes'));
    const quota = await read(path.join(CGROUP_ROOT, 'cpu', cgroupsPath, 'cpu.cfs_quota_us'));
    return { memoryBytes: memory ? Number(memory) : undefined, cpuQuotaUs: quota ? Number(quota) : undefined };
  }
  const memory = await read(path.join(CGROUP_ROOT, cgroupsPath, 'memory.max'));
  const cpu = await read(path.join(CGROUP_ROOT, cgroupsPath, 'cpu.max'));
  return { memoryBytes: memory ? Number(memory) : undefined, cpuQuotaUs: cpu ? Number(cpu.split(' ')[0]) : undefined };
}

/** Every cgroup mount point (one per v1 controller, or the v2 root). */
export async function cgroupMountPoints(): Promise<string[]> {
  return parseCgroupMounts(await readFile('/proc/self/mounts', 'utf8'));
}

export function parseCgroupMounts(mounts: string): string[] {
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => (f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]?.startsWith(CGROUP_ROOT))
    .map((f) => f[1] as string);
}

/** Cgroup directories named `name` under `parent` (a cgroupsPath prefix), in every hierarchy. */
export async function cgroupDirsUnder(parent: string): Promise<string[]> {
  const found: string[] = [];
  for (const mount of await cgroupMountPoints()) {
    const dir = path.join(mount, parent);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) found.push(path.join(dir, e.name));
  }
  return found;
}
