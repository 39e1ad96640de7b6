// One running container as the AgentSandbox sees it: the control channel (a
// socket pair whose far end runc passes into the container as fd 3), the
// container's stderr, its memory cgroup, and a kill that leaves nothing behind:
// no runc state, no cgroup, no bundle directory. The container's init is not
// our child (runc run --detach), so its end is seen as the stderr pipe closing
// and confirmed in /proc; the OOM state is read before the cgroup is removed.
import { once } from 'node:events';
import { readFile, rename, rm } from 'node:fs/promises';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import type { AgentProcess } from '../agent-sandbox.ts';
import { NimbusError } from '../../shared/errors.ts';
import { killedForMemory, memoryCgroupDir, memoryUsageMb, readOomState, type OomState } from './cgroup.ts';
import type { Runc } from './runc.ts';

export interface ContainerLaunch {
  runc: Runc;
  containerId: string;
  bundleDir: string;
  cgroupsPath: string;
  details: Record<string, unknown>;
  log: (level: 'warn', msg: string, extra?: Record<string, unknown>) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long `runc run --detach` may take before it is killed and the start fails. */
const START_TIMEOUT_MS = 30_000;
/** How long the container may take to die on its own before reap kills it. */
const GRACE_MS = 2000;

/** Field 22 of /proc/<pid>/stat (start time), or undefined once the process is gone or a zombie. */
async function liveStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
}

export class ContainerProcess implements AgentProcess {
  readonly exited: Promise<string>;
  private resolveExited!: (how: string) => void;
  private reaping: Promise<void> | undefined;
  private finalOom: OomState | undefined;
  private readonly memoryDir: string;
  private bundle: string;

  private constructor(
    private readonly launch: ContainerLaunch,
    readonly channel: Duplex,
    readonly stderr: Readable,
    private readonly pid: number,
    private readonly startTime: string | undefined,
  ) {
    this.memoryDir = memoryCgroupDir(launch.cgroupsPath);
    this.bundle = launch.bundleDir;
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  get details(): Record<string, unknown> {
    return {
      ...this.launch.details,
      containerId: this.launch.containerId,
      pid: this.pid,
      bundle: this.bundle,
      cgroupsPath: this.launch.cgroupsPath,
    };
  }

  get bundleDir(): string {
    return this.bundle;
  }

  /** Whether the container still runs: nothing has begun to tear it down. */
  get running(): boolean {
    return this.reaping === undefined;
  }

  /** Renames the bundle directory (a prewarmed container taking its sandbox's name); mounts follow the inode. */
  async moveBundle(to: string): Promise<void> {
    await rename(this.bundle, to);
    this.bundle = to;
  }

  /** Runs `runc run --detach` on a written bundle; resolves once the container's agent runs. */
  static async start(launch: ContainerLaunch): Promise<ContainerProcess> {
    const pidFile = `${launch.bundleDir}/init.pid`;
    const child = launch.runc.spawnDetached(launch.containerId, launch.bundleDir, pidFile);
    const source = child.stderr as Readable;
    const stderr = new PassThrough();
    source.pipe(stderr);
    let runcOutput = '';
    const collect = (c: Buffer) => (runcOutput = (runcOutput + c.toString('utf8')).slice(-4096));
    source.on('data', collect);
    const hung = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    const [code, signal] = (await Promise.race([
      once(child, 'exit'),
      once(child, 'error').then(([e]) => [String(e), null]),
    ])) as [unknown, unknown];
    clearTimeout(hung);
    source.off('data', collect);
    const channel = child.stdio[3] as Duplex;
    const pid = code === 0 ? Number(await readFile(pidFile, 'utf8').catch(() => NaN)) : NaN;
    if (!Number.isInteger(pid) || pid <= 0) {
      channel.destroy();
      source.destroy();
      await launch.runc.deleteForce(launch.containerId).catch(() => undefined);
      const how = signal ? `signal ${String(signal)}` : `exit ${String(code)}`;
      throw new NimbusError(
        'unavailable',
        `runc could not start container ${launch.containerId} (${how}): ${runcOutput.trim() || 'no output'}`,
      );
    }
    const proc = new ContainerProcess(launch, channel, stderr, pid, await liveStartTime(pid));
    source.once('close', () => void proc.reap());
    // An idle or prewarmed container must not keep the platform's event loop alive.
    (channel as Duplex & { unref?: () => void }).unref?.();
    (source as Readable & { unref?: () => void }).unref?.();
    return proc;
  }

  memoryMb(): Promise<number | undefined> {
    return memoryUsageMb(this.memoryDir);
  }

  /** 'memory' when the kernel's OOM killer struck in the container's cgroup. */
  async deathCause(): Promise<'memory' | undefined> {
    const oom = this.finalOom ?? (await readOomState(this.memoryDir));
    return killedForMemory(oom) ? 'memory' : undefined;
  }

  async kill(): Promise<void> {
    await this.launch.runc.killAll(this.launch.containerId);
    await this.reap();
  }

  /** Whether the container's init (not a later process with a reused pid) still runs. */
  private async initRuns(): Promise<boolean> {
    return this.startTime !== undefined && (await liveStartTime(this.pid)) === this.startTime;
  }

  /** Waits until the container's init is gone, then removes container, cgroups and bundle. Runs once. */
  private reap(): Promise<void> {
    this.reaping ??= (async () => {
      let waited = 0;
      for (let step = 5; await this.initRuns(); step = Math.min(step * 2, 500)) {
        if (waited > GRACE_MS) await this.launch.runc.killAll(this.launch.containerId);
        await sleep(step);
        waited += step;
      }
      this.finalOom = await readOomState(this.memoryDir);
      const { runc, containerId } = this.launch;
      for (let attempt = 1; ; attempt++) {
        try {
          await runc.deleteForce(containerId);
          break;
        } catch (e) {
          if (attempt === 5) this.launch.log('warn', `could not delete container ${containerId}`, { error: String(e) });
          if (attempt === 5) break;
          await sleep(50 * attempt);
        }
      }
      await rm(this.bundle, { recursive: true, force: true });
      this.resolveExited(killedForMemory(this.finalOom) ? 'killed by the kernel: out of memory' : 'container stopped');
    })();
    return this.reaping;
  }
}
