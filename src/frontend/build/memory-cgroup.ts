// A memory cgroup per build: the kernel's hard limit on everything a build
// runs (Node and esbuild's Go binary together). RLIMIT_AS cannot serve: Go
// reserves far more address space than it uses. The build process enters it
// before bubblewrap starts, so every child is counted.
import { CgroupDir } from '../../sandbox/cgroup-dir.ts';

const BUILD_CGROUPS = 'nimbus-build';

export type MemoryCgroup = CgroupDir;

export const MemoryCgroup = {
  /** A new cgroup limited to limitMb, or the reason none can be made here (not root, no memory controller). */
  async create(name: string, limitMb: number): Promise<MemoryCgroup | string> {
    const cg = await CgroupDir.memory(BUILD_CGROUPS, name, limitMb);
    return typeof cg === 'string' ? `no memory cgroup for builds (${cg})` : cg;
  },

  /** The build cgroups that exist now, by name. */
  names: (): Promise<string[]> => CgroupDir.names('memory', BUILD_CGROUPS),

  /** A cgroup made earlier (by this or another platform process), to remove it. */
  existing: (name: string): MemoryCgroup => CgroupDir.existing('memory', BUILD_CGROUPS, name),
};
