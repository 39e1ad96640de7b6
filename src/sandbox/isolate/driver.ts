// The isolate engine: unikernel-style, the function plus only the runtime it
// needs, in a V8 isolate (isolated-vm). All isolates of a driver live in one
// pool process confined by bubblewrap, because isolated-vm 5 on Node 20 lacks
// the security fixes of later releases: an isolate escape must still not
// reach the host. A dead pool is restarted by the next create.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DriverAvailability, DriverCapabilities, DriverContext, Sandbox, SandboxDriver, SandboxSpec } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { bundleIsolateGuest, type IsolateBundles } from './bundle.ts';
import { bwrapVersion, findBwrap, isolatedVmDir } from './bwrap.ts';
import { PoolProcess } from './pool-process.ts';
import { IsolateSandbox } from './sandbox.ts';

export interface IsolateDriverOptions {
  /** How long a function's module may run while it loads (default 10 000 ms). */
  initTimeoutMs?: number;
}

export class IsolateDriver implements SandboxDriver {
  readonly kind = 'isolate' as const;
  readonly capabilities: DriverCapabilities = {
    resize: "isolated-vm fixes an isolate's memory limit when the isolate is created; a new size needs a new sandbox",
    snapshot: "isolated-vm's heap snapshots are unstable and cannot capture a running function; cold starts use V8's code cache instead",
    migrate: "an isolate's heap lives inside one pool process and cannot be serialized to move to another",
    filesystemIsolation: true,
    networkIsolation: true,
  };
  private pool: Promise<PoolProcess> | undefined;
  private bundles: Promise<IsolateBundles> | undefined;
  private disposed = false;

  constructor(private readonly ctx: DriverContext, private readonly options: IsolateDriverOptions = {}) {}

  private startPool(forProbe = false): Promise<PoolProcess> {
    return (async () => {
      const bwrap = findBwrap();
      if (!bwrap) throw new NimbusError('unavailable', 'bubblewrap (bwrap) is not installed: the isolate pool must run inside an OS sandbox (apt-get install bubblewrap)');
      this.bundles ??= bundleIsolateGuest(path.join(this.ctx.dataDir, 'build', 'isolate'));
      const bundles = await this.bundles.catch((e: Error) => {
        this.bundles = undefined;
        throw e;
      });
      const pool = await PoolProcess.start(bwrap, bundles);
      if (forProbe) return pool;
      this.ctx.log('debug', 'isolate pool started', { nodePid: pool.nodePid, bwrapPid: pool.bwrapPid, startMs: Math.round(performance.now() - pool.startedAt) });
      pool.onDeath((reason) => this.ctx.log(this.disposed ? 'debug' : 'warn', 'isolate pool ended', { reason }));
      return pool;
    })();
  }

  /** The running pool, started (once, even for concurrent callers) when there is none or it died. */
  private livePool(): Promise<PoolProcess> {
    const current = this.pool;
    const replace = () => {
      if (this.pool === current) this.pool = this.startPool();
      return this.pool as Promise<PoolProcess>;
    };
    if (!current) return replace();
    return current.then((p) => (p.alive ? p : replace()), replace);
  }

  async probe(): Promise<DriverAvailability> {
    const bwrap = findBwrap();
    if (!bwrap) return { available: false, reason: 'bubblewrap (bwrap) is not installed: the isolate pool must run inside an OS sandbox (apt-get install bubblewrap)' };
    let ivmVersion: string;
    try {
      ivmVersion = (JSON.parse(await readFile(path.join(isolatedVmDir(), 'package.json'), 'utf8')) as { version: string }).version;
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
      const note = major < 22 ? `; Node ${process.version} gets isolated-vm 5 without the fixes of its Node 22 releases, which is why the pool is confined` : '';
      return {
        available: true,
        reason: `V8 isolates (isolated-vm ${ivmVersion}) in one pool process confined by bubblewrap: no network, read-only filesystem, own pid namespace; a pool starts in ${startMs} ms${note}`,
        details: { bwrap: await bwrapVersion(bwrap), isolatedVm: ivmVersion, node: process.version, poolStartMs: startMs },
      };
    } catch (e) {
      return { available: false, reason: `the isolate pool does not start here: ${(e as Error).message}` };
    }
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (this.disposed) throw new NimbusError('unavailable', 'the isolate driver has been disposed');
    const [code, pool] = await Promise.all([readFile(spec.artifactPath, 'utf8'), this.livePool()]);
    return IsolateSandbox.create(spec, pool, code, this.options.initTimeoutMs ?? 10_000);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.kill('driver disposed');
  }
}
