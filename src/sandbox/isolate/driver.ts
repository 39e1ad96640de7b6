// The isolate engine: unikernel-style, the function plus only the runtime it
// needs, in a V8 isolate (isolated-vm). All isolates live in one pool process
// that is itself confined by bubblewrap, since an isolate escape must not
// reach the host; a dead pool is restarted on the next create.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleGuest } from '../agent-bundle.ts';
import type { DriverAvailability, DriverCapabilities, DriverContext, Sandbox, SandboxDriver, SandboxSpec } from '../driver.ts';
import { isolatedVmDir, PoolProcess, type PoolPaths } from './pool-process.ts';
import { IsolateSandbox } from './sandbox.ts';

const INIT_TIMEOUT_MS = 15_000;

export class IsolateDriver implements SandboxDriver {
  readonly kind = 'isolate' as const;
  readonly capabilities: DriverCapabilities = {
    resize: 'isolated-vm fixes an isolate\'s memory limit when it is created',
    snapshot: 'V8 isolates here start from a code cache, not from a heap snapshot',
    migrate: 'an isolate\'s heap cannot be moved to another process',
    filesystemIsolation: true,
    networkIsolation: true,
    concurrentCalls: 'calls to one isolate run one at a time: V8 offers no async context inside an isolate, so the logs of overlapping calls could not be told apart',
  };
  private pool: Promise<PoolProcess> | undefined;
  private paths: Promise<PoolPaths> | undefined;
  private probed: Promise<DriverAvailability> | undefined;

  constructor(private readonly ctx: DriverContext) {}

  private bundles(): Promise<PoolPaths> {
    const buildDir = path.join(this.ctx.dataDir, 'build');
    this.paths ??= Promise.all([
      bundleGuest(buildDir, 'isolate-pool.guest.ts', { external: ['isolated-vm'] }),
      bundleGuest(buildDir, 'isolate-runtime.guest.ts', { format: 'iife' }),
    ]).then(([poolBundle, runtimeBundle]) => ({ poolBundle, runtimeBundle }));
    return this.paths;
  }

  private livePool(): Promise<PoolProcess> {
    const current = this.pool;
    const restart = async () => PoolProcess.start(await this.bundles());
    this.pool = current
      ? current.then((p) => (p.alive ? p : restart()), restart)
      : restart();
    return this.pool;
  }

  probe(): Promise<DriverAvailability> {
    this.probed ??= (async () => {
      try {
        await promisify(execFile)('bwrap', ['--version']);
      } catch {
        return { available: false, reason: 'bubblewrap (bwrap) is missing: the isolate pool must run inside an OS sandbox (apt-get install bubblewrap)' };
      }
      try {
        isolatedVmDir();
      } catch {
        return { available: false, reason: 'the isolated-vm package is not installed (npm install)' };
      }
      try {
        // A real start of a throwaway pool; the working pool starts with the first sandbox.
        const started = performance.now();
        const pool = await PoolProcess.start(await this.bundles());
        const ms = Math.round(performance.now() - started);
        await pool.kill('probe done');
        return { available: true, reason: `V8 isolates (isolated-vm) in a pool process confined by bubblewrap (no network, read-only filesystem); a pool starts in ${ms} ms` };
      } catch (e) {
        return { available: false, reason: `the isolate pool does not start here: ${(e as Error).message}` };
      }
    })();
    return this.probed;
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const code = await readFile(spec.artifactPath, 'utf8');
    const pool = await this.livePool();
    const sandbox = new IsolateSandbox(spec, pool);
    try {
      await sandbox.start(code, spec.artifactSha256, INIT_TIMEOUT_MS);
    } catch (e) {
      await sandbox.dispose();
      throw e;
    }
    return sandbox;
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.kill('driver disposed');
  }
}
