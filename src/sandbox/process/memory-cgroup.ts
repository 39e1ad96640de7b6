// A memory cgroup per process sandbox: the kernel's hard limit on everything
// the sandbox holds (the agent, every child it starts, its /tmp and /dev/shm
// pages), beside the V8 heap cap and the RSS watchdog, which see the agent
// alone. The sandbox joins it before bubblewrap starts (jail.ts), so nothing
// it runs is outside. cgroup v1 (the memory hierarchy, as on the project's
// machines) and a pure v2 host both work; where neither can be used the
// sandbox runs without it and its details say why.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { killedForMemory, readOomState } from '../container/cgroup.ts';

const ROOT = '/sys/fs/cgroup';
const isV1 = existsSync(path.join(ROOT, 'memory', 'memory.limit_in_bytes'));
const PARENT = isV1 ? path.join(ROOT, 'memory', 'nimbus-process') : path.join(ROOT, 'nimbus-process');

export class SandboxMemoryCgroup {
  private constructor(readonly dir: string) {}

  /** A new cgroup for the sandbox running as `id`, limited to limitMb, or why none can be made here. */
  static async create(id: number, limitMb: number): Promise<SandboxMemoryCgroup | string> {
    const dir = path.join(PARENT, String(id));
    try {
      if (!isV1) {
        await mkdir(PARENT, { recursive: true });
        await writeFile(path.join(PARENT, 'cgroup.subtree_control'), '+memory').catch(() => undefined);
      }
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, isV1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitMb * 1024 * 1024));
      if (!isV1) await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      return new SandboxMemoryCgroup(dir);
    } catch (e) {
      await rmdir(dir).catch(() => undefined);
      return `no memory cgroup (${(e as Error).message})`;
    }
  }

  /** The file a process writes its pid into to join. */
  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Whether the kernel's OOM killer struck inside (the sandbox went over its memory). */
  async overLimit(): Promise<boolean> {
    return killedForMemory(await readOomState(this.dir));
  }

  /** Removes the cgroup once the sandbox is gone (it can go only once empty; the sweep has emptied it). */
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
