// A memory cgroup per build: the kernel's hard limit on everything a build
// runs (Node and esbuild's Go binary together). RLIMIT_AS cannot serve: Go
// reserves far more address space than it uses. cgroup v1 (the memory
// hierarchy, as on the project's machines) and a pure v2 host both work; the
// build process enters it before bubblewrap starts, so every child is counted.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { killedForMemory, readOomState } from '../../sandbox/container/cgroup.ts';

const ROOT = '/sys/fs/cgroup';
const isV1 = existsSync(path.join(ROOT, 'memory', 'memory.limit_in_bytes'));
const PARENT = isV1 ? path.join(ROOT, 'memory', 'nimbus-build') : path.join(ROOT, 'nimbus-build');

export class MemoryCgroup {
  private constructor(readonly dir: string) {}

  /** A new cgroup limited to limitMb, or the reason none can be made here (not root, no memory controller). */
  static async create(name: string, limitMb: number): Promise<MemoryCgroup | string> {
    const dir = path.join(PARENT, name);
    try {
      if (!isV1) {
        await mkdir(PARENT, { recursive: true });
        await writeFile(path.join(PARENT, 'cgroup.subtree_control'), '+memory').catch(() => undefined);
      }
      await mkdir(dir, { recursive: true });
      const bytes = String(limitMb * 1024 * 1024);
      await writeFile(path.join(dir, isV1 ? 'memory.limit_in_bytes' : 'memory.max'), bytes);
      if (!isV1) await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      return new MemoryCgroup(dir);
    } catch (e) {
      await rmdir(dir).catch(() => undefined);
      return `no memory cgroup for builds (${(e as Error).message})`;
    }
  }

  /** The build cgroups that exist now, by name. */
  static async names(): Promise<string[]> {
    return readdir(PARENT).catch(() => []);
  }

  /** A cgroup made earlier (by this or another platform process), to remove it. */
  static existing(name: string): MemoryCgroup {
    return new MemoryCgroup(path.join(PARENT, name));
  }

  /** The file a process writes its pid into to join. */
  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Whether the kernel's OOM killer struck inside (the build went over its memory). */
  async overLimit(): Promise<boolean> {
    return killedForMemory(await readOomState(this.dir));
  }

  async pids(): Promise<number[]> {
    const text = await readFile(this.procsFile, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Kills whatever is left inside and removes the cgroup (it can go only once empty). */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = await this.pids();
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
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
