// A container sandbox: the agent-backed sandbox plus what only a container can
// do, resize while running. `runc update` changes the live cgroup (memory and
// memory+swap limits together, CPU quota); the watchdog follows the new limit.
// V8's heap ceiling stays what it was at start: growing memory helps off-heap
// use (Buffers, child processes), shrinking it caps everything at the cgroup.
import { AgentSandbox, type AgentProcess } from '../agent-sandbox.ts';
import type { ResizeReport, ResizeRequest, SandboxSpec } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { cpuQuotaUs, CPU_PERIOD_US, MB, MIN_CPUS, MIN_MEMORY_MB } from './container-config.ts';
import { readLimits } from './cgroup.ts';
import type { Runc } from './runc.ts';

/** The container under a sandbox: what resize needs to reach its cgroup. */
export interface ContainerHandle {
  runc: Runc;
  containerId: string;
  cgroupsPath: string;
}

export class ContainerSandbox extends AgentSandbox {
  private constructor(
    spec: SandboxSpec,
    proc: AgentProcess,
    private readonly container: ContainerHandle,
  ) {
    super('container', spec, proc);
  }

  /** Loads the function in the container's agent; resolves once it is ready to invoke. */
  static create(
    spec: SandboxSpec,
    proc: AgentProcess,
    container: ContainerHandle,
    initTimeoutMs: number,
    artifactPath: string,
  ): Promise<ContainerSandbox> {
    return ContainerSandbox.open(new ContainerSandbox(spec, proc, container), initTimeoutMs, artifactPath);
  }

  async resize(request: ResizeRequest): Promise<ResizeReport> {
    if (this.isDead()) throw new NimbusError('conflict', `sandbox ${this.id} is dead and cannot be resized`);
    const { memoryMb, cpus } = request;
    if (memoryMb !== undefined && (!Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB)) {
      throw new NimbusError('bad_request', `memoryMb must be a whole number of MB, at least ${MIN_MEMORY_MB}`);
    }
    if (cpus !== undefined && !(cpus >= MIN_CPUS))
      throw new NimbusError('bad_request', `cpus must be at least ${MIN_CPUS}`);
    const before = { memoryMb: this.memoryLimitMb, cpus: this.cpus };
    const after = { memoryMb: memoryMb ?? before.memoryMb, cpus: cpus ?? before.cpus };
    try {
      await this.container.runc.update(this.container.containerId, {
        memoryBytes: memoryMb === undefined ? undefined : after.memoryMb * MB,
        cpuQuotaUs: cpus === undefined ? undefined : cpuQuotaUs(after.cpus),
        cpuPeriodUs: CPU_PERIOD_US,
      });
    } catch (e) {
      // Shrinking below what the function holds fails in the kernel (EBUSY): the old limits stay.
      throw new NimbusError('conflict', `could not resize sandbox ${this.id}: ${(e as Error).message}`);
    }
    this.memoryLimitMb = after.memoryMb;
    this.cpus = after.cpus;
    return {
      before,
      after,
      details: { cgroup: await readLimits(this.container.cgroupsPath), v8HeapLimit: 'unchanged (set at start)' },
    };
  }
}
