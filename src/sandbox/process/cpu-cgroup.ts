// A CPU cgroup per process sandbox, beside its memory cgroup: the kernel's
// CFS quota holds everything the sandbox runs (the agent and every child,
// detached busy loops included) to the function's `cpus` (quota = cpus x a
// 100 ms period, as the container engine's). Without it a function could
// start busy loops that outlive its call and take every core of the host
// until its sandbox is removed. The sandbox joins it before bubblewrap
// starts (jail.ts). cgroup v1 (the cpu hierarchy, as on the project's
// machines) and a pure v2 host (cpu.max in the sandbox's one cgroup) both
// work; where neither can be used the sandbox runs without it and its
// details say why.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CPU_PERIOD_US, cpuQuotaUs } from '../container/container-config.ts';

const ROOT = '/sys/fs/cgroup';
const isV1 = existsSync(path.join(ROOT, 'cpu', 'cpu.cfs_quota_us'));
const PARENT = isV1 ? path.join(ROOT, 'cpu', 'nimbus-process') : path.join(ROOT, 'nimbus-process');

export class SandboxCpuCgroup {
  private constructor(readonly dir: string) {}

  /** A new cgroup for the sandbox running as `id`, held to `cpus`, or why none can be made here. */
  static async create(id: number, cpus: number): Promise<SandboxCpuCgroup | string> {
    const dir = path.join(PARENT, String(id));
    try {
      if (!isV1) {
        await mkdir(PARENT, { recursive: true });
        await writeFile(path.join(PARENT, 'cgroup.subtree_control'), '+cpu').catch(() => undefined);
      }
      await mkdir(dir, { recursive: true });
      const cgroup = new SandboxCpuCgroup(dir);
      if (isV1) await writeFile(path.join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      await cgroup.setCpus(cpus);
      return cgroup;
    } catch (e) {
      await rmdir(dir).catch(() => undefined);
      return `no CPU cgroup (${(e as Error).message})`;
    }
  }

  /** Holds the sandbox to `cpus` from now on (a prewarmed sandbox gets its function's at create). */
  async setCpus(cpus: number): Promise<void> {
    const quota = cpuQuotaUs(cpus);
    if (isV1) await writeFile(path.join(this.dir, 'cpu.cfs_quota_us'), String(quota));
    else await writeFile(path.join(this.dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
  }

  /** The file a process writes its pid into to join. */
  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Removes the cgroup once the sandbox is gone (on v2 it is the memory cgroup, whichever goes first). */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await rmdir(this.dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Removes cgroups whose sandboxes are gone (a platform that died leaves them; only empty ones can go). */
  static async removeStale(isStale: (id: number) => boolean): Promise<void> {
    const entries = await readdir(PARENT, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory() && /^\d+$/.test(e.name) && isStale(Number(e.name))) await rmdir(path.join(PARENT, e.name)).catch(() => undefined);
  }
}
