// The isolate engine: unikernel-style, the function plus only the runtime it
// needs, in a V8 isolate (isolated-vm). The isolates of one function live in
// that function's pool process, confined by bubblewrap so that an isolate
// escape still does not reach the host; one function that aborts V8 or runs
// over its memory fails only its own calls (function-pools.ts).
import { readFile } from 'node:fs/promises';
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
import { bundleIsolateGuest, type IsolateBundles } from './bundle.ts';
import { bwrapVersion, findBwrap, isolatedVmDir } from './bwrap.ts';
import { FunctionPools } from './function-pools.ts';
import { PoolProcess, type PoolLog } from './pool-process.ts';
import { IsolateSandbox } from './sandbox.ts';

export interface IsolateDriverOptions {
  /** How long a function's module may run while it loads (default 10 000 ms). */
  initTimeoutMs?: number;
}

export class IsolateDriver implements SandboxDriver {
  readonly kind = 'isolate' as const;
  readonly capabilities: DriverCapabilities = {
    resize: "isolated-vm fixes an isolate's memory limit when the isolate is created; a new size needs a new sandbox",
    snapshot:
      "isolated-vm's heap snapshots are unstable and cannot capture a running function; cold starts use V8's code cache instead",
    migrate: "an isolate's heap lives inside one pool process and cannot be serialized to move to another",
    filesystemIsolation: true,
    networkIsolation: true,
    concurrentCalls: true,
  };
  private bundles: Promise<IsolateBundles> | undefined;
  private disposed = false;
  private readonly log: PoolLog = (level, msg, extra) => this.ctx.log(this.disposed ? 'debug' : level, msg, extra);
  /** One pool process per function. */
  readonly pools = new FunctionPools(() => this.startPool(), this.log);

  constructor(
    private readonly ctx: DriverContext,
    private readonly options: IsolateDriverOptions = {},
  ) {}

  private startPool(forProbe = false): Promise<PoolProcess> {
    return (async () => {
      const bwrap = findBwrap();
      if (!bwrap)
        throw new NimbusError(
          'unavailable',
          'bubblewrap (bwrap) is not installed: the isolate pool must run inside an OS sandbox (apt-get install bubblewrap)',
        );
      this.bundles ??= bundleIsolateGuest(path.join(this.ctx.dataDir, 'build', 'isolate'));
      const bundles = await this.bundles.catch((e: Error) => {
        this.bundles = undefined;
        throw e;
      });
      const pool = await PoolProcess.start(bwrap, bundles, this.log);
      if (!forProbe)
        this.log('debug', 'isolate pool started', {
          nodePid: pool.nodePid,
          bwrapPid: pool.bwrapPid,
          startMs: Math.round(performance.now() - pool.startedAt),
        });
      return pool;
    })();
  }

  async probe(): Promise<DriverAvailability> {
    const bwrap = findBwrap();
    if (!bwrap)
      return {
        available: false,
        reason:
          'bubblewrap (bwrap) is not installed: the isolate pool must run inside an OS sandbox (apt-get install bubblewrap)',
      };
    let ivmVersion: string;
    try {
      ivmVersion = (
        JSON.parse(await readFile(path.join(isolatedVmDir(), 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      return { available: false, reason: 'the isolated-vm package is not installed (npm install builds it)' };
    }
    try {
      // A real start, thrown away: a probe leaves no process behind; the first create starts the pool for good.
      const started = performance.now();
      const pool = await this.startPool(true);
      const startMs = Math.round(performance.now() - started);
      await pool.kill('probe done');
      const major = Number(process.versions.node.split('.')[0]);
      const note =
        major < 22
          ? `; Node ${process.version} gets isolated-vm 5 without the fixes of its Node 22 releases, which is why the pool is confined`
          : '';
      return {
        available: true,
        reason: `V8 isolates (isolated-vm ${ivmVersion}) in a pool process per function, each confined by bubblewrap: no network, read-only filesystem, own pid namespace; a pool starts in ${startMs} ms${note}`,
        details: {
          bwrap: await bwrapVersion(bwrap),
          isolatedVm: ivmVersion,
          node: process.version,
          poolStartMs: startMs,
        },
      };
    } catch (e) {
      return { available: false, reason: `the isolate pool does not start here: ${(e as Error).message}` };
    }
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (this.disposed) throw new NimbusError('unavailable', 'the isolate driver has been disposed');
    const code = await readFile(spec.artifactPath, 'utf8');
    const lease = await this.pools.acquire(spec);
    try {
      const sandbox = await IsolateSandbox.create(
        spec,
        lease.pool,
        code,
        this.options.initTimeoutMs ?? 10_000,
        this.ctx.egress,
      );
      sandbox.onDeath(() => lease.release());
      return sandbox;
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.pools.dispose();
  }
}
