// The container engine: OS-level virtualization with the OCI runtime runc. Each
// sandbox is one container with its own bundle (<dataDir>/containers/<id>/),
// pid/mount/ipc/uts/cgroup namespaces, a network namespace with only loopback
// (unless the function asks for the network), a user namespace where the data
// directory allows it (see identity.ts), a read-only root, cgroup limits on
// memory, CPU and pids, no capabilities and a seccomp allowlist. The guest
// agent runs as the container's init and talks to the host over fd 3.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type {
  DriverAvailability,
  DriverCapabilities,
  DriverContext,
  Sandbox,
  SandboxDriver,
  SandboxSpec,
} from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { cpuQuotaUs } from './container-config.ts';
import { ContainerSandbox } from './container-sandbox.ts';
import { ContainerLauncher, type ContainerProfile, type Launched } from './launcher.ts';
import { removeScopeSync } from './exit-guard.ts';
import { removeEmptyScope, removeLeftovers, type LeftoverReport } from './leftovers.ts';
import { probeRuntimes } from './probe.ts';
import { artifactKind, bundleName, placeArtifact, prepareRuntime, removeBundle, validateSpec } from './runtime.ts';
import { findBinary, Runc } from './runc.ts';
import { StemCells } from './stem-cells.ts';
import { EgressRules } from '../network/policy.ts';

export interface ContainerDriverOptions {
  /** Most processes (and threads) a container may hold. Default 128. */
  pidsLimit?: number;
  /** Size of the writable /tmp, MB. Default 64. */
  tmpfsMb?: number;
  /** Time the function's module may take to load, ms. Default 10000. */
  initTimeoutMs?: number;
  /** Use a user namespace where the data directory allows it. Default true. */
  userNamespace?: boolean;
  /** Keep a prewarmed container per recent profile, so that cold starts skip runc and node's start. Default true. */
  prewarm?: boolean;
}

export class ContainerDriver implements SandboxDriver {
  readonly kind = 'container' as const;
  readonly capabilities: DriverCapabilities = {
    resize: true,
    snapshot: 'container checkpoints need CRIU (runc checkpoint), which nimbus does not use',
    migrate: 'container migration needs CRIU checkpoints, which nimbus does not use',
    filesystemIsolation: true,
    networkIsolation: true,
    concurrentCalls: true,
  };
  private readonly dataDir: string;
  private readonly containersDir: string;
  private readonly cgroupParent: string;
  private readonly live = new Map<string, Launched>();
  private launcher: Promise<ContainerLauncher> | undefined;
  private probed: Promise<DriverAvailability> | undefined;
  private readonly stems = new StemCells((name, profile) =>
    this.launch(name, profile, {}).catch((e: unknown) => {
      this.ctx.log('warn', 'could not start a prewarmed container', { error: String(e) });
      throw e;
    }),
  );
  /** Set once a container runs: a platform that exits without dispose() still leaves nothing. */
  private exitGuard: (() => void) | undefined;

  private readonly egress: EgressRules;

  constructor(
    private readonly ctx: DriverContext,
    private readonly options: ContainerDriverOptions = {},
  ) {
    this.egress = new EgressRules(ctx.egress);
    this.dataDir = path.resolve(ctx.dataDir);
    this.containersDir = path.join(this.dataDir, 'containers');
    this.cgroupParent = `/nimbus/${createHash('sha256').update(this.dataDir).digest('hex').slice(0, 12)}`;
  }

  /** Shared parts, prepared once: image, config template, agent copy, runc. */
  private prepared(): Promise<ContainerLauncher> {
    const { containersDir, cgroupParent, dataDir } = this;
    this.launcher ??= prepareRuntime({
      dataDir,
      containersDir,
      agentPath: this.ctx.agentPath,
      userNamespace: this.options.userNamespace ?? true,
    }).then(
      (rt) =>
        new ContainerLauncher(rt, {
          containersDir,
          cgroupParent,
          pidsLimit: this.options.pidsLimit ?? 128,
          tmpfsMb: this.options.tmpfsMb ?? 64,
          egress: this.egress,
          log: this.ctx.log,
        }),
    );
    return this.launcher;
  }

  probe(): Promise<DriverAvailability> {
    this.probed ??= this.prepared().then(
      async (l) => {
        const profile = { memoryMb: 128, cpus: 1, network: false, env: {} };
        const config = (taskDir: string) =>
          l.config('nimbus-probe', taskDir, [l.rt.nodePath, '-e', 'process.exit(0)'], profile);
        const result = await probeRuntimes({
          containersDir: this.containersDir,
          dataDir: this.dataDir,
          runcBinary: l.rt.runc?.binary,
          config,
        });
        return {
          ...result,
          details: { ...result.details, identity: l.rt.image.identity.reason, prewarm: this.options.prewarm ?? true },
        };
      },
      (e: Error) => ({ available: false, reason: `cannot prepare the container image: ${e.message}` }),
    );
    return this.probed;
  }

  private async launch(
    name: string,
    profile: ContainerProfile,
    env: Record<string, string>,
    artifactDir?: string,
  ): Promise<Launched> {
    const launcher = await this.prepared();
    if (!this.exitGuard) {
      const scope = { runc: launcher.runc, containersDir: this.containersDir, cgroupParent: this.cgroupParent };
      this.exitGuard = () => removeScopeSync(scope);
      process.on('exit', this.exitGuard);
    }
    const launched = await launcher.launch({ name, ...profile, env, artifactDir });
    this.live.set(launched.containerId, launched);
    void launched.proc.exited.then(() => this.live.delete(launched.containerId));
    return launched;
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    validateSpec(spec);
    const launcher = await this.prepared();
    const name = bundleName(spec.id);
    const profile: ContainerProfile = { memoryMb: spec.memoryMb, cpus: spec.cpus, network: spec.network };
    const kind = await artifactKind(spec.artifactPath);
    const prewarm = kind === 'file' && (this.options.prewarm ?? true);
    let launched = prewarm ? await this.specialise(await this.stems.take(profile), name, profile) : undefined;
    launched ??= await this.launch(name, profile, spec.env, kind === 'directory' ? spec.artifactPath : undefined);
    if (prewarm) this.stems.refill(profile);
    let artifactInContainer = '/var/task';
    try {
      if (kind === 'file') artifactInContainer = await placeArtifact(launched.taskDir, spec.artifactPath);
    } catch (e) {
      await launched.proc.kill();
      throw e;
    }
    const container = { runc: launcher.runc, containerId: launched.containerId, cgroupsPath: launched.cgroupsPath };
    return ContainerSandbox.create(
      spec,
      launched.proc,
      container,
      this.options.initTimeoutMs ?? 10_000,
      artifactInContainer,
    );
  }

  /** Turns a stem cell into this sandbox's container, or gives it up (undefined) if it cannot be. */
  private async specialise(
    stem: Launched | undefined,
    name: string,
    profile: ContainerProfile,
  ): Promise<Launched | undefined> {
    if (!stem) return undefined;
    const to = path.join(this.containersDir, name);
    try {
      await stem.proc.moveBundle(to);
      if (stem.profile.cpus !== profile.cpus)
        await (await this.prepared()).runc.update(stem.containerId, { cpuQuotaUs: cpuQuotaUs(profile.cpus) });
      if (!stem.proc.running) throw new Error('the prewarmed container stopped');
      return { ...stem, taskDir: path.join(to, 'task'), profile };
    } catch (e) {
      this.ctx.log('warn', 'could not use a prewarmed container; starting a new one', { error: String(e) });
      await stem.proc.kill();
      if (stem.proc.bundleDir === to) await removeBundle(to);
      if (e instanceof Error && 'code' in e && e.code === 'ENOTEMPTY')
        throw new NimbusError('conflict', `a container bundle named ${name} already exists`);
      return undefined;
    }
  }

  /** Removes containers, bundles and cgroups a killed platform left behind. */
  async cleanupLeftovers(): Promise<void> {
    await this.removeLeftovers();
  }

  /** cleanupLeftovers, saying what it removed. */
  async removeLeftovers(): Promise<LeftoverReport> {
    // Only runc and the paths are needed, not the prepared image: the platform sweeps this at every start, used or not.
    const runc =
      (await this.launcher?.catch(() => undefined))?.rt.runc ??
      (await findBinary('runc').then((b) => (b ? new Runc(b, path.join(this.dataDir, 'runc')) : undefined)));
    if (!runc) return { containers: [], bundles: [], cgroups: [] };
    const live = [...this.live.values()];
    const report = await removeLeftovers({
      runc,
      containersDir: this.containersDir,
      cgroupParent: this.cgroupParent,
      live: {
        containerIds: new Set(live.map((l) => l.containerId)),
        bundles: new Set(live.map((l) => path.basename(l.proc.bundleDir))),
      },
    });
    if (report.containers.length + report.bundles.length + report.cgroups.length > 0)
      this.ctx.log('info', 'removed container leftovers', { ...report });
    return report;
  }

  /** Kills every container this driver still runs, prewarmed ones included. */
  async dispose(): Promise<void> {
    await this.stems.dispose();
    await Promise.all([...this.live.values()].map((l) => l.proc.kill()));
    if (this.exitGuard) process.off('exit', this.exitGuard);
    this.exitGuard = undefined;
    await removeEmptyScope(this.cgroupParent);
  }
}
