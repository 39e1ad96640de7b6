// One cgroup directory that nimbus makes for a group of processes it starts
// outside runc (a process sandbox's memory and CPU, a build's memory): where
// it lives on cgroup v1 (one hierarchy per controller, as on the project's
// machines) or a pure v2 host, how it is made with its limits, joined,
// read after an OOM kill, emptied and removed, and how a platform that died
// leaves none behind. runc's own cgroups are src/sandbox/container/cgroup.ts.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CPU_PERIOD_US, cpuQuotaUs } from './container/container-config.ts';
import { killedForMemory, readOomState } from './container/cgroup.ts';

const ROOT = '/sys/fs/cgroup';
export type Controller = 'memory' | 'cpu';
const V1_PROBE: Record<Controller, string> = { memory: 'memory.limit_in_bytes', cpu: 'cpu.cfs_quota_us' };
const isV1 = (controller: Controller) => existsSync(path.join(ROOT, controller, V1_PROBE[controller]));

/** The directory that holds one family of nimbus's cgroups (e.g. "nimbus-process") for a controller. */
function parentOf(controller: Controller, family: string): string {
  return isV1(controller) ? path.join(ROOT, controller, family) : path.join(ROOT, family);
}

export class CgroupDir {
  protected constructor(
    readonly dir: string,
    protected readonly v1: boolean,
  ) {}

  /** Makes family/name under the controller and sets its limits, or says why none can be made here (not root, no controller). */
  protected static async make(
    controller: Controller,
    family: string,
    name: string,
    set: (cg: CgroupDir) => Promise<void>,
  ): Promise<CgroupDir | string> {
    const parent = parentOf(controller, family);
    const cg = new CgroupDir(path.join(parent, name), isV1(controller));
    try {
      if (!cg.v1) {
        await mkdir(parent, { recursive: true });
        await writeFile(path.join(parent, 'cgroup.subtree_control'), `+${controller}`).catch(() => undefined);
      }
      await mkdir(cg.dir, { recursive: true });
      await set(cg);
      return cg;
    } catch (e) {
      await rmdir(cg.dir).catch(() => undefined);
      return (e as Error).message;
    }
  }

  /** A cgroup limited to limitMb of memory (swap included on v2). */
  static async memory(family: string, name: string, limitMb: number): Promise<CgroupDir | string> {
    return CgroupDir.make('memory', family, name, async (cg) => {
      await writeFile(path.join(cg.dir, cg.v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitMb * 1024 * 1024));
      if (!cg.v1) await writeFile(path.join(cg.dir, 'memory.swap.max'), '0').catch(() => undefined);
    });
  }

  /** A cgroup held to `cpus` by the CFS quota (the container engine's period). */
  static async cpu(family: string, name: string, cpus: number): Promise<CgroupDir | string> {
    return CgroupDir.make('cpu', family, name, async (cg) => {
      if (cg.v1) await writeFile(path.join(cg.dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      await cg.setCpus(cpus);
    });
  }

  /** Holds a CPU cgroup to `cpus` from now on. */
  async setCpus(cpus: number): Promise<void> {
    const quota = cpuQuotaUs(cpus);
    if (this.v1) await writeFile(path.join(this.dir, 'cpu.cfs_quota_us'), String(quota));
    else await writeFile(path.join(this.dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
  }

  /** A cgroup made earlier (by this or another platform process), to remove it. */
  static existing(controller: Controller, family: string, name: string): CgroupDir {
    return new CgroupDir(path.join(parentOf(controller, family), name), isV1(controller));
  }

  /** The names of a family's cgroups that exist now. */
  static async names(controller: Controller, family: string): Promise<string[]> {
    const entries = await readdir(parentOf(controller, family), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  /** Removes a family's cgroups whose owners are gone (a platform that died leaves them); only empty ones can go, and busy ones are left for the next sweep. */
  static async removeStale(controller: Controller, family: string, isStale: (name: string) => boolean): Promise<void> {
    for (const name of await CgroupDir.names(controller, family)) {
      if (isStale(name)) await rmdir(path.join(parentOf(controller, family), name)).catch(() => undefined);
    }
  }

  /** The file a process writes its pid into to join. */
  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Whether the kernel's OOM killer struck inside (its processes went over the memory limit). */
  async overLimit(): Promise<boolean> {
    return killedForMemory(await readOomState(this.dir));
  }

  async pids(): Promise<number[]> {
    const text = await readFile(this.procsFile, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Removes the cgroup (it can go only once empty); with `kill`, kills whatever is still inside first. */
  async remove(o: { kill?: boolean } = {}): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (o.kill) {
        for (const pid of await this.pids()) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      try {
        await rmdir(this.dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
