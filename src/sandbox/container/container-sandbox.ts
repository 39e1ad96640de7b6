// A container sandbox: the agent-backed sandbox plus what only a container can
// do, resize while running. `runc update` changes the live cgroup (memory and
// memory+swap limits together, CPU quota); the watchdog follows the new limit.
// V8's heap ceiling stays what it was at start: growing memory helps off-heap
// use (Buffers, child processes), shrinking it caps everything at the cgroup.
import type { AgentSandbox } from '../agent-sandbox.ts';
import type { InvokeCall, InvokeOutcome, ResizeReport, ResizeRequest, Sandbox, SandboxInfo } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { cpuQuotaUs, CPU_PERIOD_US, MB, MIN_CPUS, MIN_MEMORY_MB } from './container-config.ts';
import { readLimits } from './cgroup.ts';
import type { Runc } from './runc.ts';

export class ContainerSandbox implements Sandbox {
  readonly engine = 'container' as const;

  constructor(private readonly agent: AgentSandbox, private readonly runc: Runc, readonly containerId: string, readonly cgroupsPath: string) {}

  get id() {
    return this.agent.id;
  }
  get spec() {
    return this.agent.spec;
  }
  get state() {
    return this.agent.state;
  }
  info(): SandboxInfo {
    return this.agent.info();
  }
  invoke(call: InvokeCall): Promise<InvokeOutcome> {
    return this.agent.invoke(call);
  }
  memoryUsageMb(): Promise<number | undefined> {
    return this.agent.memoryUsageMb();
  }
  onDeath(listener: (reason: string) => void): void {
    this.agent.onDeath(listener);
  }
  dispose(): Promise<void> {
    return this.agent.dispose();
  }

  async resize(request: ResizeRequest): Promise<ResizeReport> {
    if (this.agent.state === 'dead') throw new NimbusError('conflict', `sandbox ${this.id} is dead and cannot be resized`);
    const { memoryMb, cpus } = request;
    if (memoryMb !== undefined && (!Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB)) {
      throw new NimbusError('bad_request', `memoryMb must be a whole number of MB, at least ${MIN_MEMORY_MB}`);
    }
    if (cpus !== undefined && !(cpus >= MIN_CPUS)) throw new NimbusError('bad_request', `cpus must be at least ${MIN_CPUS}`);
    const before = { memoryMb: this.agent.memoryLimitMb, cpus: this.agent.cpus };
    const after = { memoryMb: memoryMb ?? before.memoryMb, cpus: cpus ?? before.cpus };
    try {
      await this.runc.update(this.containerId, {
        memoryBytes: memoryMb === undefined ? undefined : after.memoryMb * MB,
        cpuQuotaUs: cpus === undefined ? undefined : cpuQuotaUs(after.cpus),
        cpuPeriodUs: CPU_PERIOD_US,
      });
    } catch (e) {
      // Shrinking below what the function holds fails in the kernel (EBUSY): the old limits stay.
      throw new NimbusError('conflict', `could not resize sandbox ${this.id}: ${(e as Error).message}`);
    }
    this.agent.memoryLimitMb = after.memoryMb;
    this.agent.cpus = after.cpus;
    return { before, after, details: { cgroup: await readLimits(this.cgroupsPath), v8HeapLimit: 'unchanged (set at start)' } };
  }
}
