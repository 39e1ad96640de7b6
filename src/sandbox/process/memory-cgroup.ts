// A memory cgroup per process sandbox: the kernel's hard limit on everything
// the sandbox holds (the agent, every child it starts, its /tmp and /dev/shm
// pages), beside the V8 heap cap and the RSS watchdog, which see the agent
// alone. The sandbox joins it before bubblewrap starts (jail.ts), so nothing
// it runs is outside. Where no cgroup can be made the sandbox runs without it
// and its details say why.
import { CgroupDir } from '../cgroup-dir.ts';

/** The family every process sandbox's cgroups belong to, named by the sandbox's uid. */
export const PROCESS_CGROUPS = 'nimbus-process';

export type SandboxMemoryCgroup = CgroupDir;

export const SandboxMemoryCgroup = {
  /** A new cgroup for the sandbox running as `id`, limited to limitMb, or why none can be made here. */
  async create(id: number, limitMb: number): Promise<SandboxMemoryCgroup | string> {
    const cg = await CgroupDir.memory(PROCESS_CGROUPS, String(id), limitMb);
    return typeof cg === 'string' ? `no memory cgroup (${cg})` : cg;
  },

  /** Removes cgroups whose sandboxes are gone (a platform that died leaves them). */
  removeStale(isStale: (id: number) => boolean): Promise<void> {
    return CgroupDir.removeStale('memory', PROCESS_CGROUPS, (name) => /^\d+$/.test(name) && isStale(Number(name)));
  },
};
