// The runc command line, with nimbus's own state root (--root <dataDir>/runc),
// so that nimbus lists, updates and deletes only its own containers.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

const COMMAND_TIMEOUT_MS = 30_000;
/** Directories searched after $PATH: runc lives in /usr/sbin on Debian, often outside a user's PATH. */
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export class RuncError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    cause: string,
  ) {
    super(`runc ${args.join(' ')} failed: ${stderr.trim() || cause}`);
  }
}

export interface RuncContainer {
  id: string;
  status: string;
  pid: number;
  bundle: string;
}

/** Finds an executable in $PATH and the usual sbin directories. */
export async function findBinary(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

export class Runc {
  /** Pids of `runc run` processes still starting a container. */
  readonly starting = new Set<number>();

  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  run(args: string[]): Promise<string> {
    const full = ['--root', this.root, ...args];
    return new Promise((resolve, reject) => {
      execFile(
        this.binary,
        full,
        { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new RuncError(args, stderr, err.message));
          else resolve(stdout);
        },
      );
    });
  }

  /**
   * Starts a container in the background (`run --detach`): its stderr is the
   * returned child's stderr, and fd 3 (child.stdio[3]) is passed into the
   * container as its fd 3. The child exits once the container has started.
   */
  spawnDetached(id: string, bundle: string, pidFile: string): ChildProcess {
    const args = [
      '--root',
      this.root,
      'run',
      '--detach',
      '--bundle',
      bundle,
      '--pid-file',
      pidFile,
      '--preserve-fds',
      '1',
      id,
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid) {
      this.starting.add(pid);
      child.once('exit', () => this.starting.delete(pid));
    }
    return child;
  }

  async list(): Promise<RuncContainer[]> {
    const out = await this.run(['list', '--format', 'json']);
    return (JSON.parse(out) as RuncContainer[] | null) ?? [];
  }

  /** Sends SIGKILL to every process of the container; a container already stopped or gone is not an error. */
  async killAll(id: string): Promise<void> {
    await this.run(['kill', '--all', id, 'KILL']).catch(() => undefined);
  }

  /** Deletes the container, its state and its cgroups, killing it first if it still runs. */
  async deleteForce(id: string): Promise<void> {
    try {
      await this.run(['delete', '--force', id]);
    } catch (e) {
      if (!(e instanceof RuncError && /does not exist|not exist/.test(e.stderr))) throw e;
    }
  }

  async update(id: string, limits: { memoryBytes?: number; cpuQuotaUs?: number; cpuPeriodUs?: number }): Promise<void> {
    const args = ['update'];
    if (limits.memoryBytes !== undefined)
      args.push('--memory', String(limits.memoryBytes), '--memory-swap', String(limits.memoryBytes));
    if (limits.cpuQuotaUs !== undefined)
      args.push('--cpu-quota', String(limits.cpuQuotaUs), '--cpu-period', String(limits.cpuPeriodUs ?? 100_000));
    await this.run([...args, id]);
  }
}
