// The microvm engine: every sandbox is a QEMU `microvm` machine with its own
// Linux kernel (Debian's), virtio-mmio devices only, and the runtime agent as
// the one program of a minimal initramfs. KVM when it can really boot a guest,
// TCG (dynamic binary translation) otherwise. Cold starts restore a saved VM
// (per memory size and CPU count) whose agent is already waiting, then hand it
// the function's code over the agent's serial port; booting from the kernel is
// the fallback (options.snapshots=false forces it). The code travels over the
// channel rather than on a 9p share because QEMU refuses to migrate (and so to
// snapshot) a VM that has a 9p share mounted.
//
// After a sandbox has loaded a function, a function snapshot of it is made in
// the background (function-snapshots.ts); later cold starts of that function
// version restore it, its module top level already run. An idle sandbox past
// its keep-alive can go to standby (standby.ts): saved to disk and stopped.
//
// Memory: a sandbox's memoryMb is its guest's RAM, the kernel's share
// included. The VM boots with twice that (the ceiling resize can grow to) and
// the virtio balloon holds the rest from the start; see sandbox.ts for how a
// guest out of memory becomes memory_exhausted.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
import { chooseAccelerator, type AcceleratorChoice } from './accelerator.ts';
import { ensureMicrovmImage, type MicrovmImage } from './image/build.ts';
import { qemuVersionLine, type VmConfig } from './qemu-args.ts';
import { MicrovmSandbox } from './sandbox.ts';
import { SnapshotStore } from './snapshots.ts';
import {
  FunctionSnapshotStore,
  diskBytes,
  privateDir,
  removeFunctionFiles,
  type FunctionSnapshot,
} from './function-snapshots.ts';
import { standbyFile, parkedSandbox } from './standby.ts';
import { bootVm, restoreVm, type StartedVm } from './vm-start.ts';
import { EgressRules } from '../network/policy.ts';
import { heapLimitMb, MIN_MEMORY_MB } from './memory.ts';

export { heapLimitMb, MIN_MEMORY_MB };

export interface MicrovmOptions {
  /** Start sandboxes from saved VM states (default true); false boots every one. */
  snapshots?: boolean;
  /** Boot to a ready agent, ms (TCG on a busy 2-core host takes ~10 s). */
  bootTimeoutMs?: number;
  /** Snapshot each function version once loaded and restore later cold starts from it (default true; needs snapshots). */
  functionSnapshots?: boolean;
}

/** What a sandbox's guest is sent before its function (re)loads: files, the host's clock, fresh entropy. */
interface PrepareMessage {
  files: { path: string; contentBase64: string }[];
  epochMs?: number;
  entropyBase64?: string;
}

const RESTORE_TIMEOUT_MS = 60_000;
const PREPARE_TIMEOUT_MS = 60_000;
const INIT_TIMEOUT_MS = 60_000;
export class MicrovmDriver implements SandboxDriver {
  readonly kind = 'microvm' as const;
  readonly capabilities: DriverCapabilities = {
    resize: true,
    snapshot: true,
    migrate: true,
    filesystemIsolation: true,
    networkIsolation: true,
    concurrentCalls: true,
  };
  private readonly runRoot: string;
  private readonly snapshots: SnapshotStore;
  private readonly functionSnapshots: FunctionSnapshotStore;
  private readonly standbyDir: string;
  /** Disk the standby states may take together (the function snapshots' cap again). */
  private readonly standbyCapBytes: number;
  private readonly live = new Set<Sandbox>();
  /** Run directories this driver made: never leftovers, even while their VM starts. */
  private readonly ownRunDirs = new Set<string>();
  private setup: Promise<{ image: MicrovmImage; accel: AcceleratorChoice }> | undefined;
  private disposed = false;
  private readonly egress: EgressRules;

  constructor(
    private readonly ctx: DriverContext,
    private readonly options: MicrovmOptions = {},
  ) {
    this.egress = new EgressRules(ctx.egress);
    const dataDir = path.resolve(ctx.dataDir);
    this.runRoot = path.join(
      tmpdir(),
      `nimbus-microvm-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`,
    );
    this.snapshots = new SnapshotStore(dataDir, (name) => this.runDirFor(name), this.bootTimeoutMs);
    const capBytes = (ctx.microvmSnapshotCapMb ?? 4096) * 1024 * 1024;
    this.standbyCapBytes = capBytes;
    this.functionSnapshots = new FunctionSnapshotStore(
      path.join(dataDir, 'microvm', 'function-snapshots'),
      capBytes,
      (msg) => ctx.log('warn', msg),
    );
    this.standbyDir = path.join(dataDir, 'microvm', 'standby');
  }

  private get useFunctionSnapshots(): boolean {
    const wanted = this.options.functionSnapshots ?? this.ctx.microvmFunctionSnapshots ?? true;
    return this.options.snapshots !== false && wanted;
  }

  private get bootTimeoutMs(): number {
    return this.options.bootTimeoutMs ?? 120_000;
  }

  /** A fresh run directory (sockets, pid file) for one QEMU process; short, for unix socket paths. */
  private runDirFor(name: string): string {
    const dir = path.join(this.runRoot, `${name.slice(0, 40)}-${randomBytes(3).toString('hex')}`);
    this.ownRunDirs.add(dir);
    return dir;
  }

  /** The image (built or cached) and the accelerator (probed or cached), once. */
  private ready(): Promise<{ image: MicrovmImage; accel: AcceleratorChoice }> {
    this.setup ??= (async () => {
      const image = await ensureMicrovmImage(this.ctx.dataDir, (msg) => this.ctx.log('info', msg), {
        agentPath: this.ctx.agentPath,
      });
      const accel = await chooseAccelerator(image, this.ctx.dataDir, this.runDirFor('accelerator-probe'));
      this.ctx.log('info', `microvm: ${accel.accelerator} (${accel.reason})`);
      return { image, accel };
    })();
    this.setup.catch(() => (this.setup = undefined));
    return this.setup;
  }

  async probe(): Promise<DriverAvailability> {
    let qemu: string;
    try {
      qemu = qemuVersionLine();
    } catch (e) {
      return {
        available: false,
        reason: `qemu-system-x86_64 cannot run (install qemu-system-x86): ${(e as Error).message}`,
      };
    }
    try {
      const { image, accel } = await this.ready();
      const details = {
        accelerator: accel.accelerator,
        acceleratorReason: accel.reason,
        qemu,
        image: image.hash,
        kernel: image.kernel.release,
      };
      return {
        available: true,
        reason: `QEMU microvm machine under ${accel.accelerator.toUpperCase()}: ${accel.reason}`,
        details,
      };
    } catch (e) {
      return { available: false, reason: `cannot prepare the microVM guest image: ${(e as Error).message}` };
    }
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (this.disposed) throw new NimbusError('unavailable', 'the microvm driver is disposed');
    if (spec.memoryMb < MIN_MEMORY_MB)
      throw new NimbusError(
        'bad_request',
        `a microVM needs memoryMb >= ${MIN_MEMORY_MB} (its own kernel and node), not ${spec.memoryMb}`,
      );
    const createStarted = Date.now();
    const generation = this.functionSnapshots.generation(spec.functionName);
    const { image, accel } = await this.ready();
    const config: VmConfig = {
      image,
      accelerator: accel.accelerator,
      ceilingMb: spec.memoryMb * 2,
      memoryMb: spec.memoryMb,
      cpus: Math.max(1, Math.floor(spec.cpus)),
      network: spec.network,
      egress: spec.network ? this.egress : undefined,
      heapMb: heapLimitMb(spec.memoryMb),
    };
    const details: Record<string, unknown> = {
      accelerator: accel.accelerator,
      acceleratorReason: accel.reason,
      image: image.hash,
      ceilingMb: config.ceilingMb,
      heapMb: config.heapMb,
    };
    const snapshot = this.useFunctionSnapshots ? await this.functionSnapshots.find(spec, config) : undefined;
    const restored = snapshot && (await this.fromFunctionSnapshot(spec, config, snapshot, details));
    const sandbox = restored ?? (await this.loadFresh(spec, config, details));
    if (!restored && this.useFunctionSnapshots)
      void this.functionSnapshots.makeInBackground(
        spec,
        config,
        (ram, state) => this.makeFunctionSnapshot(spec, config, ram, state),
        generation,
      );
    details.createMs = Date.now() - createStarted;
    this.live.add(sandbox);
    sandbox.onDeath(() => this.live.delete(sandbox));
    return sandbox;
  }

  /** Starts a VM (restore of the machine state, or boot), writes the function into it and loads it. */
  private async loadFresh(spec: SandboxSpec, config: VmConfig, details: Record<string, unknown>) {
    const started = await this.startVm(spec, config, details);
    return this.openSandbox(spec, config, started, details, true);
  }

  /**
   * Restores a function snapshot: its RAM file mapped private, its devices
   * from the state; the agent has the function loaded, so init only answers
   * ready. Undefined (and the snapshot deleted) when the restore fails.
   */
  private async fromFunctionSnapshot(
    spec: SandboxSpec,
    config: VmConfig,
    snapshot: FunctionSnapshot,
    details: Record<string, unknown>,
  ): Promise<MicrovmSandbox | undefined> {
    const ram = { file: { path: snapshot.ram, shared: false }, ignoreShared: true };
    let started: StartedVm;
    try {
      started = await restoreVm(config, snapshot.state, this.runDirFor(spec.id), spec.id, RESTORE_TIMEOUT_MS, ram);
    } catch (e) {
      this.ctx.log('warn', `microvm: function snapshot ${snapshot.key} did not restore: ${(e as Error).message}`);
      await rm(snapshot.state, { force: true });
      await rm(snapshot.ram, { force: true });
      return undefined;
    }
    Object.assign(details, { start: 'function-snapshot', startMs: started.readyMs, functionSnapshot: snapshot.key });
    return this.openSandbox(spec, config, started, details, false);
  }

  /** Sends the guest its files (when `withCode`), the clock and fresh entropy, then loads the function. */
  private async openSandbox(
    spec: SandboxSpec,
    config: VmConfig,
    started: StartedVm,
    details: Record<string, unknown>,
    withCode: boolean,
  ): Promise<MicrovmSandbox> {
    if (started.vm.network) details.network = started.vm.network.details;
    const guestArtifactPath = `/run/nimbus/function/${path.basename(spec.artifactPath)}`;
    try {
      if (withCode) {
        const code = await readFile(spec.artifactPath);
        await this.prepare(started, { files: [{ path: guestArtifactPath, contentBase64: code.toString('base64') }] });
      }
      // The clock goes in a message of its own: the first one after a restore
      // runs through cold (untranslated) code and takes ~0.5 s to arrive, which
      // would be the guest clock's error.
      details.guestClockSet = await this.prepare(started, {
        files: [],
        epochMs: Date.now(),
        entropyBase64: randomBytes(64).toString('base64'),
      });
    } catch (e) {
      await started.vm.kill();
      throw new NimbusError('internal', (e as Error).message);
    }
    return MicrovmSandbox.create({
      spec,
      config,
      vm: started.vm,
      link: started.link,
      guestArtifactPath,
      details,
      runDirFor: (name) => this.runDirFor(name),
      initTimeoutMs: INIT_TIMEOUT_MS,
      standby: (sandbox) => this.park(sandbox, spec, config),
    });
  }

  /**
   * Makes the function snapshot of `spec` (in the background, off any call's
   * path): a VM of its own restores the machine state into `ram` (mapped
   * shared), loads the function, and saves its devices to `state`.
   */
  private async makeFunctionSnapshot(spec: SandboxSpec, config: VmConfig, ram: string, state: string): Promise<void> {
    const machine = await this.snapshots.stateFor(config);
    const id = `${spec.id}-fs`;
    const shared = { file: { path: ram, shared: true }, ignoreShared: false };
    const started = await restoreVm(config, machine.file, this.runDirFor(id), id, RESTORE_TIMEOUT_MS, shared);
    // The engine stopped while this VM restored: no QEMU may outlive dispose().
    if (this.disposed) {
      await started.vm.kill();
      throw new Error('the microvm engine is stopping');
    }
    const sandbox = await this.openSandbox({ ...spec, id }, config, started, {}, true);
    // Counted as live so that dispose() stops it too instead of leaving it to finish alone.
    this.live.add(sandbox);
    sandbox.onDeath(() => this.live.delete(sandbox));
    try {
      await sandbox.saveState(state, true);
    } finally {
      await sandbox.dispose();
    }
  }

  /** Saves an idle sandbox to <dataDir>/microvm/standby and stops it; resume() restores it under the same id. */
  private async park(sandbox: MicrovmSandbox, spec: SandboxSpec, config: VmConfig) {
    const dir = await privateDir(this.standbyDir);
    // Bounded on disk: past the cap (counting this guest's RAM as the most it can add) the sandbox is disposed instead.
    const used = await Promise.all((await readdir(dir)).map((n) => diskBytes(path.join(dir, n))));
    if (used.reduce((a, b) => a + b, 0) + config.ceilingMb * 1024 * 1024 > this.standbyCapBytes)
      throw new NimbusError('throttled', `standby states would pass ${this.standbyCapBytes} bytes of disk`);
    const file = standbyFile(dir, spec);
    const { createdAt } = sandbox.info();
    try {
      await sandbox.saveState(file, false);
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    } finally {
      await sandbox.dispose();
    }
    return parkedSandbox(spec, file, createdAt, async () => {
      const details: Record<string, unknown> = { accelerator: config.accelerator, ceilingMb: config.ceilingMb };
      const started = await restoreVm(config, file, this.runDirFor(spec.id), spec.id, RESTORE_TIMEOUT_MS).finally(() =>
        rm(file, { force: true }),
      );
      Object.assign(details, { start: 'standby', startMs: started.readyMs });
      const resumed = await this.openSandbox(spec, config, started, details, false);
      this.live.add(resumed);
      resumed.onDeath(() => this.live.delete(resumed));
      return resumed;
    });
  }

  /** The function was deleted: its function snapshots and standby states go. */
  async forgetFunction(functionName: string): Promise<void> {
    await this.functionSnapshots.forget(functionName);
    await removeFunctionFiles(this.standbyDir, functionName);
  }

  /** Resolves once the function snapshots being made now are saved (or failed). */
  functionSnapshotsSettled(): Promise<void> {
    return this.functionSnapshots.settled();
  }

  /** Sends the agent a prepare message; resolves with whether it set its clock. */
  private async prepare(started: StartedVm, message: PrepareMessage): Promise<boolean> {
    const answer = await started.link.request(
      { type: 'prepare', id: started.link.newId(), ...message },
      PREPARE_TIMEOUT_MS,
    );
    if (answer.type !== 'prepared') throw new Error(`the guest agent answered prepare with ${answer.type}`);
    if (answer.error) throw new Error(`the guest could not be prepared: ${answer.error}`);
    return answer.clockSet;
  }

  /** Restores the configuration's saved VM (making it first if needed), or boots one. */
  private async startVm(spec: SandboxSpec, config: VmConfig, details: Record<string, unknown>): Promise<StartedVm> {
    const runDir = this.runDirFor(spec.id);
    if (this.options.snapshots !== false) {
      const state = await this.snapshots.stateFor(config);
      if (state.bootMs !== undefined) details.snapshotBootMs = state.bootMs;
      try {
        const restored = await restoreVm(config, state.file, runDir, spec.id, RESTORE_TIMEOUT_MS);
        Object.assign(details, { start: 'restore', startMs: restored.readyMs, snapshot: state.key });
        return restored;
      } catch (e) {
        this.ctx.log(
          'warn',
          `microvm: restoring snapshot ${state.key} failed, booting instead: ${(e as Error).message}`,
        );
        await this.snapshots.discard(config, state);
      }
    }
    const booted = await bootVm(config, runDir, spec.id, this.bootTimeoutMs);
    Object.assign(details, { start: 'boot', startMs: booted.readyMs });
    return booted;
  }

  /** Kills QEMU processes and removes run directories, standby states and half-made snapshots that a killed platform left behind. */
  async cleanupLeftovers(): Promise<void> {
    const entries = await readdir(this.runRoot).catch(() => [] as string[]);
    for (const entry of entries) {
      const dir = path.join(this.runRoot, entry);
      if (this.ownRunDirs.has(dir)) continue;
      const pid = Number((await readFile(path.join(dir, 'qemu.pid'), 'utf8').catch(() => '')).trim());
      if (pid) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes(dir)) await killAndWait(pid);
      }
      await rm(dir, { recursive: true, force: true });
    }
    // A killed platform's standby states belong to pools that are gone, and its half-made snapshots to no one.
    await rm(this.standbyDir, { recursive: true, force: true });
    for (const name of await readdir(this.functionSnapshots.dir).catch(() => [] as string[]))
      if (name.endsWith('.tmp')) await rm(path.join(this.functionSnapshots.dir, name), { force: true });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all([...this.live].map((s) => s.dispose()));
    // A function snapshot being made ends (saved, or failed on its stopped VM) before the run root goes.
    await this.functionSnapshots.settled();
    await rmdir(this.runRoot).catch(() => undefined); // only when no VM of this data dir runs
  }
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
