// The process engine: each sandbox is a Node process running the guest agent
// under bubblewrap (jail.ts) as an unprivileged uid of its own, in its own
// user, pid, mount, ipc, uts and network namespaces, with a read-only view of
// the system, a private size-capped /tmp, a per-uid process limit and a
// memory cgroup and a CPU cgroup (quota = the function's cpus); V8's heap is
// capped and an RSS watchdog runs outside. It shares the host's kernel behind
// a small system-call filter (README.md: how it differs from the container
// engine). Like OpenWhisk's prewarmed "stem cell"
// containers, the driver keeps one spawned but not yet specialised agent per
// recently used memory size; its function is copied into the sandbox's own
// directory at create, so a cold start only loads the function.
import { AgentSandbox } from '../agent-sandbox.ts';
import type {
  DriverAvailability,
  DriverCapabilities,
  DriverContext,
  Sandbox,
  SandboxDriver,
  SandboxSpec,
} from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { ownerOfSandboxId, platformRuns } from './identities.ts';
import { SandboxCpuCgroup } from './cpu-cgroup.ts';
import { SandboxMemoryCgroup } from './memory-cgroup.ts';
import { killOrphans, spawnJailedAgent, type JailedAgent, type JailTools, type JoinedNetwork } from './jailed-agent.ts';
import { probeJail } from './probe.ts';
import { RunDir } from './run-dir.ts';
import { findJailTools } from './tools.ts';
import { openSandboxNetwork } from '../network/namespace.ts';

export { heapLimitMb, rssOfPid, RssReader } from './rss.ts';

const INIT_TIMEOUT_MS = 10_000;
/** Memory sizes for which a stem cell is kept ready (most recently used). */
const STEM_SIZES = 2;
/** CPUs a stem cell is held to until its function's are known. */
const STEM_CPUS = 1;

export class ProcessDriver implements SandboxDriver {
  readonly kind = 'process' as const;
  readonly capabilities: DriverCapabilities = {
    resize: 'a process sandbox cannot change its V8 heap limit while running',
    snapshot: 'the process engine has no snapshot mechanism',
    migrate: 'the process engine has no migration mechanism',
    filesystemIsolation: true,
    networkIsolation: true,
    concurrentCalls: true,
  };
  private readonly stems = new Map<number, Promise<JailedAgent>>();
  private setup: Promise<{ tools: JailTools; runDir: RunDir }> | undefined;
  private disposed = false;

  constructor(private readonly ctx: DriverContext) {}

  /** The tools and this driver's run directory, made once; fails with why the engine cannot run here. */
  private ready(): Promise<{ tools: JailTools; runDir: RunDir }> {
    this.setup ??= (async () => {
      const tools = findJailTools();
      if (typeof tools === 'string')
        throw new NimbusError('unavailable', `the process engine cannot run here: ${tools}`);
      return { tools, runDir: await RunDir.create(this.ctx.agentPath) };
    })();
    return this.setup;
  }

  async probe(): Promise<DriverAvailability> {
    try {
      const { tools, runDir } = await this.ready();
      return await probeJail(tools, runDir);
    } catch (e) {
      return { available: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  async cleanupLeftovers(): Promise<void> {
    await killOrphans(this.ctx);
    await RunDir.removeLeftovers();
    await SandboxMemoryCgroup.removeStale((id) => !platformRuns(ownerOfSandboxId(id)));
    await SandboxCpuCgroup.removeStale((id) => !platformRuns(ownerOfSandboxId(id)));
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (this.disposed) throw new NimbusError('unavailable', 'the process driver is shut down');
    // A sandbox with network joins a filtered namespace of its own (src/sandbox/network/): no stem cell, each needs its own.
    if (spec.network)
      return this.start(spec, await this.spawn(spec.memoryMb, spec.cpus, await openSandboxNetwork(this.ctx.egress)));
    const stem = this.stems.get(spec.memoryMb);
    this.stems.delete(spec.memoryMb);
    const taken = await stem?.catch(() => undefined);
    const agent = taken?.alive() ? taken : await this.spawn(spec.memoryMb, spec.cpus);
    if (taken && taken !== agent) void taken.proc.kill();
    this.refill(spec.memoryMb);
    return this.start(spec, agent);
  }

  /** A stem cell is spawned before its function is known: it gets STEM_CPUS, and its function's cpus at create. */
  private async spawn(memoryMb: number, cpus = STEM_CPUS, network?: JoinedNetwork): Promise<JailedAgent> {
    const { tools, runDir } = await this.ready();
    return spawnJailedAgent(this.ctx, runDir, tools, memoryMb, cpus, network);
  }

  /** Copies the function into the sandbox's directory and loads it there. */
  private async start(spec: SandboxSpec, agent: JailedAgent): Promise<Sandbox> {
    let inside: string;
    try {
      // Before the function is loaded: none of its code runs under another quota.
      await agent.setCpus(spec.cpus);
      inside = await (await this.ready()).runDir.placeArtifact(agent.id, spec.artifactPath);
    } catch (e) {
      await agent.proc.kill();
      throw e;
    }
    return AgentSandbox.start('process', spec, agent.proc, INIT_TIMEOUT_MS, inside);
  }

  /** Keeps a fresh stem cell for this memory size, dropping the least recently used size. */
  private refill(memoryMb: number): void {
    if (this.disposed) return;
    const stem = this.spawn(memoryMb);
    stem.catch((e: Error) => this.ctx.log('warn', `could not prewarm a process sandbox: ${e.message}`));
    this.stems.set(memoryMb, stem);
    for (const [size, old] of this.stems) {
      if (this.stems.size <= STEM_SIZES) break;
      this.stems.delete(size);
      void old.then(
        (a) => a.proc.kill(),
        () => undefined,
      );
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const stems = [...this.stems.values()];
    this.stems.clear();
    await Promise.all(
      stems.map((s) =>
        s.then(
          (a) => a.proc.kill(),
          () => undefined,
        ),
      ),
    );
    const setup = await this.setup?.catch(() => undefined);
    await setup?.runDir.remove();
  }
}
