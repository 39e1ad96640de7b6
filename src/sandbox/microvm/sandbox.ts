// A microVM sandbox: the AgentSandbox (timeouts, crashes, results) on top of
// a QEMU process that can change under it (live migration), plus the VM
// operations: resize through the balloon and migrate to a new QEMU.
//
// Memory: the hard limit is the guest's RAM itself (what the balloon leaves
// it), enforced by the hypervisor; V8's heap limit is set below it. A guest
// out of memory ends as memory_exhausted either way: V8's "heap out of
// memory" on the console, or the guest kernel's OOM killer (seen on the
// console, reported through deathCause). memoryUsageMb() is node's RSS inside
// the guest (from the agent's ping), which can never pass the guest's RAM;
// QEMU's own RSS (guest RAM touched, QEMU, translated code) is in details.
import { PassThrough } from 'node:stream';
import { AgentSandbox, type AgentProcess } from '../agent-sandbox.ts';
import type { InvokeCall, InvokeOutcome, MigrateRequest, MigrationReport, ResizeReport, ResizeRequest, Sandbox, SandboxInfo, SandboxSpec } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { guestMemoryMb, setGuestMemory } from './balloon.ts';
import type { GuestLink } from './guest-link.ts';
import { liveMigrate } from './migration.ts';
import type { QemuVm } from './qemu-vm.ts';
import type { VmConfig } from './qemu-args.ts';

const GUEST_OOM = /Out of memory: Killed process|nimbus-init: the guest kernel killed the agent: out of memory/;
const RESIZE_TIMEOUT_MS = 60_000;
const MIGRATE_TIMEOUT_MS = 120_000;
const IDLE_WAIT_MS = 60_000;

export interface MicrovmSandboxOptions {
  spec: SandboxSpec;
  config: VmConfig;
  vm: QemuVm;
  link: GuestLink;
  guestArtifactPath: string;
  details: Record<string, unknown>;
  runDirFor: (name: string) => string;
  initTimeoutMs: number;
}

export class MicrovmSandbox implements Sandbox {
  readonly engine = 'microvm' as const;
  readonly id: string;
  readonly spec: SandboxSpec;
  private inner!: AgentSandbox;
  private vm: QemuVm;
  private consoleDone: Promise<void> = Promise.resolve();
  private readonly console = new PassThrough();
  private consoleTail = '';
  private outOfMemory = false;
  private exitedResolve!: (how: string) => void;
  private readonly exited = new Promise<string>((resolve) => (this.exitedResolve = resolve));
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private moving: Promise<unknown> | undefined;
  private migrations = 0;

  private constructor(private readonly options: MicrovmSandboxOptions) {
    this.id = options.spec.id;
    this.spec = options.spec;
    this.vm = options.vm;
    this.adopt(options.vm);
  }

  static async start(options: MicrovmSandboxOptions): Promise<MicrovmSandbox> {
    const sandbox = new MicrovmSandbox(options);
    options.link.handOver();
    sandbox.inner = await AgentSandbox.start('microvm', options.spec, sandbox.agentProcess(), options.initTimeoutMs, options.guestArtifactPath);
    return sandbox;
  }

  get state() {
    return this.inner.state;
  }

  info(): SandboxInfo {
    return this.inner.info();
  }

  async invoke(call: InvokeCall): Promise<InvokeOutcome> {
    if (this.moving) await this.moving.catch(() => undefined);
    this.inFlight += 1;
    try {
      return await this.inner.invoke(call);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  memoryUsageMb(): Promise<number | undefined> {
    return this.inner.memoryUsageMb();
  }

  onDeath(listener: (reason: string) => void): void {
    this.inner.onDeath(listener);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }

  async resize(request: ResizeRequest): Promise<ResizeReport> {
    this.assertAlive();
    const cpus = this.inner.cpus;
    if (request.cpus !== undefined && request.cpus !== cpus) {
      throw new NimbusError('not_supported', `the microvm machine cannot hot-plug CPUs: create the sandbox with cpus=${request.cpus}`);
    }
    const { ceilingMb } = this.options.config;
    const target = request.memoryMb ?? this.inner.memoryLimitMb;
    if (target > ceilingMb || target < 64) {
      throw new NimbusError('bad_request', `memoryMb ${target} is outside what the balloon can give this VM: 64 to ${ceilingMb} MB (its RAM at boot)`);
    }
    const before = await guestMemoryMb(this.vm.qmp);
    const qemuRssBefore = await this.vm.rssMb();
    const after = await setGuestMemory(this.vm.qmp, target, RESIZE_TIMEOUT_MS);
    this.inner.memoryLimitMb = after;
    const details = { ceilingMb, balloonMb: ceilingMb - after, requestedMb: target, qemuRssMbBefore: qemuRssBefore, qemuRssMbAfter: await this.vm.rssMb() };
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
    const source = this.vm;
    const name = `${this.id}-m${this.migrations + 1}`;
    const runDir = this.options.runDirFor(name);
    const moved = await liveMigrate(source, this.options.link, this.options.config, runDir, name, MIGRATE_TIMEOUT_MS);
    if (this.inner.state === 'dead') {
      await moved.target.kill(); // disposed or killed while it moved
      throw new NimbusError('unavailable', `sandbox ${this.id} died while migrating`);
    }
    this.migrations += 1;
    this.vm = moved.target;
    this.adopt(moved.target);
    await source.kill();
    const answered = await this.options.link.request({ type: 'ping', id: this.options.link.newId() }, 30_000);
    if (answered.type !== 'pong') throw new NimbusError('internal', `the migrated agent answered a ping with ${answered.type}`);
    const details = { fromPid: source.pid, toPid: moved.target.pid, transferredMb: moved.transferredMb, migrateMs: moved.totalMs };
    return { totalMs: Date.now() - started, downtimeMs: moved.downtimeMs, details };
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new NimbusError('conflict', `sandbox ${this.id} stayed busy for ${IDLE_WAIT_MS} ms: not migrated`)), IDLE_WAIT_MS);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private assertAlive(): void {
    if (this.inner.state === 'dead') throw new NimbusError('unavailable', `sandbox ${this.id} is dead`);
  }

  /** Makes `vm` the one whose console, exit and pid this sandbox reports. */
  private adopt(vm: QemuVm): void {
    const { details } = this.options;
    details.pid = vm.pid;
    details.migrations = this.migrations;
    const stream = vm.console;
    this.consoleDone = new Promise((resolve) => stream.once('close', () => resolve()));
    stream.on('data', (chunk: Buffer) => {
      this.consoleTail = (this.consoleTail + chunk.toString('utf8')).slice(-4096);
      if (GUEST_OOM.test(this.consoleTail)) this.outOfMemory = true;
      this.console.write(chunk);
    });
    void vm.exited.then((how) => {
      if (this.vm === vm) this.exitedResolve(how);
    });
  }

  private agentProcess(): AgentProcess {
    return {
      channel: this.options.link.channel,
      stderr: this.console,
      exited: this.exited,
      details: this.options.details,
      kill: async () => {
        await this.vm.kill();
      },
      memoryMb: async () => {
        void this.vm.rssMb().then((mb) => (this.options.details.qemuRssMb = mb === undefined ? undefined : Math.round(mb)));
        return this.options.link.guestRssMb();
      },
      deathCause: async () => {
        await Promise.race([this.consoleDone, new Promise((resolve) => setTimeout(resolve, 1000))]);
        return this.outOfMemory ? 'memory' : undefined;
      },
    };
  }
}
