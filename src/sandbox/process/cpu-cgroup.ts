// A CPU cgroup per process sandbox, beside its memory cgroup: the kernel's
// CFS quota holds everything the sandbox runs (the agent and every child,
// detached busy loops included) to its CPUs, as the container engine's.
// Without it a function could start busy loops that outlive its call and take
// every core of the host until its sandbox is removed. The sandbox joins it
// before bubblewrap starts (jail.ts); on a pure v2 host it is the same
// directory as the memory cgroup. Where none can be made the sandbox runs
// without it and its details say why.
import { CgroupDir } from '../cgroup-dir.ts';
import { PROCESS_CGROUPS } from './memory-cgroup.ts';

export type SandboxCpuCgroup = CgroupDir;

export const SandboxCpuCgroup = {
  /** A new cgroup for the sandbox running as `id`, held to `cpus` (setCpus changes it), or why none can be made here. */
  async create(id: number, cpus: number): Promise<SandboxCpuCgroup | string> {
    const cg = await CgroupDir.cpu(PROCESS_CGROUPS, String(id), cpus);
    return typeof cg === 'string' ? `no CPU cgroup (${cg})` : cg;
  },

  /** Removes cgroups whose sandboxes are gone (a platform that died leaves them). */
  removeStale(isStale: (id: number) => boolean): Promise<void> {
    return CgroupDir.removeStale('cpu', PROCESS_CGROUPS, (name) => /^\d+$/.test(name) && isStale(Number(name)));
  },
};
