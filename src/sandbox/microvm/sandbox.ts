// A microVM sandbox: the AgentSandbox (timeouts, crashes, results) on top of
// a QEMU process that can change under it (live migration, see VmProcess),
// plus the VM operations: resize through the balloon and migrate to a new QEMU.
//
// Memory: the hard limit is the guest's RAM itself (what the balloon leaves
// it), enforced by the hypervisor; V8's heap limit is set below it. A guest
// out of memory ends as memory_exhausted either way: V8's "heap out of
// memory" on the console, or the guest kernel's OOM killer (seen on the
// console, reported through deathCause). memoryUsageMb() is node's RSS inside
// the guest (from the agent's ping), which can never pass the guest's RAM;
// QEMU's own RSS (guest RAM touched, QEMU, translated code) is in details.
import { AgentSandbox } from '../agent-sandbox.ts';
import type {
  InvokeCall,
  InvokeOutcome,
  MigrateRequest,
  MigrationReport,
  ResizeReport,
  ResizeRequest,
  SandboxSpec,
  StandbySandbox,
} from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { guestMemoryMb, setGuestMemory } from './balloon.ts';
import type { GuestLink } from './guest-link.ts';
import { liveMigrate } from './migration.ts';
import type { QemuVm } from './qemu-vm.ts';
import type { VmConfig } from './qemu-args.ts';
import { VmProcess } from './vm-process.ts';
import { saveVm } from './vm-start.ts';

const RESIZE_TIMEOUT_MS = 60_000;
const MIGRATE_TIMEOUT_MS = 120_000;
const IDLE_WAIT_MS = 60_000;
const SAVE_TIMEOUT_MS = 120_000;

export interface MicrovmSandboxOptions {
  spec: SandboxSpec;
  config: VmConfig;
  vm: QemuVm;
  link: GuestLink;
  guestArtifactPath: string;
  details: Record<string, unknown>;
  runDirFor: (name: string) => string;
  initTimeoutMs: number;
  /** Saves a stopped copy of this sandbox to disk and resumes it later (the driver's standby). */
  standby?: (sandbox: MicrovmSandbox) => Promise<StandbySandbox>;
}

export class MicrovmSandbox extends AgentSandbox {
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private moving: Promise<unknown> | undefined;
  private migrations = 0;

  private constructor(
    private readonly options: MicrovmSandboxOptions,
    private readonly qemu: VmProcess,
  ) {
    super('microvm', options.spec, qemu);
  }

  /** Loads the function in the booted VM's agent; resolves once it is ready to invoke. */
  static create(options: MicrovmSandboxOptions): Promise<MicrovmSandbox> {
    const qemu = new VmProcess(options.vm, options.link, options.details);
    options.link.handOver();
    return MicrovmSandbox.open(new MicrovmSandbox(options, qemu), options.initTimeoutMs, options.guestArtifactPath);
  }

  /** A call waits while the sandbox moves, and migration waits for the calls in flight. */
  override async invoke(call: InvokeCall): Promise<InvokeOutcome> {
    if (this.moving) await this.moving.catch(() => undefined);
    this.inFlight += 1;
    try {
      return await super.invoke(call);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  async resize(request: ResizeRequest): Promise<ResizeReport> {
    this.assertAlive();
    const cpus = this.cpus;
    if (request.cpus !== undefined && request.cpus !== cpus) {
      throw new NimbusError(
        'not_supported',
        `the microvm machine cannot hot-plug CPUs: create the sandbox with cpus=${request.cpus}`,
      );
    }
    const { ceilingMb } = this.options.config;
    const target = request.memoryMb ?? this.memoryLimitMb;
    if (target > ceilingMb || target < 64) {
      throw new NimbusError(
        'bad_request',
        `memoryMb ${target} is outside what the balloon can give this VM: 64 to ${ceilingMb} MB (its RAM at boot)`,
      );
    }
    const before = await guestMemoryMb(this.qemu.vm.qmp);
    const qemuRssBefore = await this.qemu.vm.rssMb();
    const after = await setGuestMemory(this.qemu.vm.qmp, target, RESIZE_TIMEOUT_MS);
    this.memoryLimitMb = after;
    const details = {
      ceilingMb,
      balloonMb: ceilingMb - after,
      requestedMb: target,
      qemuRssMbBefore: qemuRssBefore,
      qemuRssMbAfter: await this.qemu.vm.rssMb(),
    };
    return { before: { memoryMb: before, cpus }, after: { memoryMb: after, cpus }, details };
  }

  migrate(_request?: MigrateRequest): Promise<MigrationReport> {
    this.assertAlive();
    if (this.moving) return Promise.reject(new NimbusError('conflict', `sandbox ${this.id} is already migrating`));
    const moving = this.moveToNewQemu();
    this.moving = moving;
    return moving.finally(() => (this.moving = undefined));
  }

  private async moveToNewQemu(): Promise<MigrationReport> {
    const started = Date.now();
    await this.whenIdle();
    this.assertAlive();
    const source = this.qemu.vm;
    const name = `${this.id}-m${this.migrations + 1}`;
    const runDir = this.options.runDirFor(name);
    const moved = await liveMigrate(source, this.options.link, this.options.config, runDir, name, MIGRATE_TIMEOUT_MS);
    if (this.isDead()) {
      await moved.target.kill(); // disposed or killed while it moved
      throw new NimbusError('unavailable', `sandbox ${this.id} died while migrating`);
    }
    this.migrations += 1;
    this.qemu.adopt(moved.target, this.migrations);
    await source.kill();
    const answered = await this.options.link.request({ type: 'ping', id: this.options.link.newId() }, 30_000);
    if (answered.type !== 'pong')
      throw new NimbusError('internal', `the migrated agent answered a ping with ${answered.type}`);
    const details = {
      fromPid: source.pid,
      toPid: moved.target.pid,
      transferredMb: moved.transferredMb,
      migrateMs: moved.totalMs,
    };
    return { totalMs: Date.now() - started, downtimeMs: moved.downtimeMs, details };
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new NimbusError('conflict', `sandbox ${this.id} stayed busy for ${IDLE_WAIT_MS} ms: not migrated`)),
        IDLE_WAIT_MS,
      );
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Saves the idle sandbox (see StandbySandbox); the driver keeps the file and resumes it. */
  standby(): Promise<StandbySandbox> {
    const park = this.options.standby;
    if (!park)
      return Promise.reject(new NimbusError('not_supported', 'this microvm driver keeps no standby sandboxes'));
    return park(this);
  }

  /**
   * Stops the VM once idle and saves its state to `file` (0600), then leaves
   * it stopped for the caller to dispose. `ignoreShared`: RAM in a shared file
   * stays out of the state (a function snapshot's).
   */
  async saveState(file: string, ignoreShared: boolean): Promise<void> {
    if (this.moving) await this.moving.catch(() => undefined);
    await this.whenIdle();
    this.assertAlive();
    const saving = saveVm(this.qemu.vm, file, SAVE_TIMEOUT_MS, ignoreShared);
    this.moving = saving;
    await saving;
  }

  private assertAlive(): void {
    if (this.isDead()) throw new NimbusError('unavailable', `sandbox ${this.id} is dead`);
  }
}
