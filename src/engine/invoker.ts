// The invoker: the execution engine's front door. It answers run requests from
// the bus, keeps a warm pool per function version, starts sandboxes through the
// drivers, and stores an activation record for every run (unless its caller
// stores it with its own bookkeeping: the async scheduler). A redeploy retires
// the older versions' pools: they drain (nothing sent to them fails) and their
// sandboxes are disposed once idle.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import type { NimbusConfig } from '../config/options.ts';
import type {
  DriverContext,
  MigrateRequest,
  MigrationReport,
  ResizeReport,
  ResizeRequest,
  Sandbox,
  SandboxInfo,
} from '../sandbox/driver.ts';
import type { Store, VersionRecord } from '../storage/store.ts';
import type { Metrics } from '../shared/metrics.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';
import { ArtifactCache } from './artifacts.ts';
import { Capacity } from './capacity.ts';
import { DriverSet } from './drivers.ts';
import { RunRequest, invokerSubject, type RunReply } from './messages.ts';
import { FunctionPool, type Lease } from './pool.ts';
import { parsePoolKey, poolKey } from './pool-key.ts';
import { buildRecord, recordedDetails, statusOf, type RunFacts } from './records.ts';
import { standbyInfo, type StandbyInfo } from './standby-info.ts';
import { KvStore } from '../state/kv-store.ts';
import { statePort } from '../state/kv-port.ts';
import { publishLiveLines } from '../logs/messages.ts';
import { poolScaling } from './autoscale/pool-scaling.ts';
import { IdleHistogram } from './keepalive/hybrid-policy.ts';
import { keepsRecord } from './records-policy.ts';
import { gaugeInvoker } from './invoker-gauges.ts';

/** Longest a retired pool may take to drain before what is left is closed: twice the longest call, at least a minute. */
const drainBoundMs = (timeoutMs: number) => Math.max(60_000, 2 * timeoutMs);

export interface InvokerDeps {
  config: NimbusConfig;
  store: Store;
  bus: Bus;
  metrics: Metrics;
  driverContext: DriverContext;
  /** The values of the secrets a config maps, by env name, read at each sandbox start (tenancy/secrets.ts). */
  secretEnv?: (functionName: string, mapping: Record<string, string>) => Promise<Record<string, string>>;
}

export class Invoker {
  readonly drivers: DriverSet;
  /** The platform-wide caps every sandbox creation here goes through. */
  readonly capacity: Capacity;
  private readonly artifacts: ArtifactCache;
  /** Function state (KV): each sandbox gets a port bound to its own function. */
  private readonly kv: KvStore;
  /** The pools that take new calls: one per function version. */
  private readonly pools = new Map<string, FunctionPool>();
  /** Pools of replaced versions, draining (FunctionPool.retire); calls still routed to their version join them, pinned ones excepted. */
  private readonly retiring = new Set<FunctionPool>();
  /** The newest version seen per function: a pool made for an older one is retired at once, unless pinned. */
  private readonly latest = new Map<string, number>();
  /** Each pool's drain bound (from its version's timeout). */
  private readonly drainBounds = new WeakMap<FunctionPool, number>();
  private readonly versions = new Map<string, VersionRecord>();
  /** Pools retired by recycle(): unlike a replaced version's, they are never handed new calls. */
  private readonly recycled = new WeakSet<FunctionPool>();
  private readonly detailsBySandbox = new WeakMap<Sandbox, Record<string, string> | undefined>();
  private unsubscribe?: Unsubscribe;
  /** Takes this invoker off the /metrics scrape (invoker-gauges.ts). */
  private ungauge?: () => void;
  private running = 0;
  /** Each function's idle times (learned keep-alive), shared by its versions' pools on this invoker. */
  private readonly idleTimes = new Map<string, IdleHistogram>();

  private constructor(private readonly deps: InvokerDeps) {
    this.drivers = new DriverSet(deps.driverContext);
    const { maxSandboxesTotal, sandboxMemoryTotalMb } = deps.config;
    this.capacity = new Capacity({ maxSandboxesTotal, sandboxMemoryTotalMb }, (exceptKey) => this.evictIdle(exceptKey));
    this.kv = new KvStore(deps.store.sql);
    this.artifacts = new ArtifactCache(path.join(deps.config.dataDir, 'artifacts'), deps.store, (level, msg, extra) =>
      deps.driverContext.log(level, msg, extra),
    );
  }

  static async create(deps: InvokerDeps): Promise<Invoker> {
    const invoker = new Invoker(deps);
    invoker.unsubscribe = await deps.bus.serve(invokerSubject(deps.config.invokerId), (data) =>
      invoker.run(RunRequest.parse(data)),
    );
    invoker.ungauge = gaugeInvoker(deps.metrics, {
      serving: () => invoker.pools.values(),
      all: () => invoker.allPools(),
      capacity: invoker.capacity,
    });
    return invoker;
  }

  get id(): string {
    return this.deps.config.invokerId;
  }

  /** Runs in progress here now (reported in heartbeats for the balancer). */
  get inflight(): number {
    return this.running;
  }

  /** Whether the newest version of `name` seen here has a pool holding sandboxes: a call to it here would not start cold. */
  warm(name: string): boolean {
    const newest = this.latest.get(name);
    return newest !== undefined && (this.pools.get(poolKey(name, newest))?.size ?? 0) > 0;
  }

  async run(req: RunRequest): Promise<RunReply> {
    this.running++;
    try {
      return await this.runCounted(req);
    } finally {
      this.running--;
    }
  }

  private async runCounted(req: RunRequest): Promise<RunReply> {
    const version = await this.version(req.functionName, req.functionVersion);
    const { config } = version;
    const startedAt = Date.now();
    const facts: RunFacts = { req, config, invokerId: this.id, startedAt };
    let lease: Lease;
    // The pool is held for the release: by then its version may have been retired.
    let pool: FunctionPool;
    try {
      pool = await this.pool(version, req.pinned === true);
      lease = await pool.acquire();
    } catch (e) {
      if (!isNimbusError(e) || e.code === 'throttled' || e.code === 'unavailable') throw e;
      const logs = typeof e.details.logs === 'string' ? e.details.logs : '';
      const record = buildRecord(facts, {
        cold: true,
        sandboxId: null,
        initMs: Date.now() - startedAt,
        queuedMs: startedAt - req.acceptedAt,
        failure: { code: e.code, message: e.message, stack: e.details.stack, logs },
      });
      return this.finish(req, record, config);
    }
    const queuedMs = Date.now() - req.acceptedAt - lease.initMs;
    if (lease.cold) this.deps.metrics.coldStart.observe({ engine: config.engine }, lease.initMs / 1000);
    let outcome;
    try {
      outcome = await lease.sandbox.invoke({
        activationId: req.activationId,
        input: req.input,
        timeoutMs: config.timeoutMs,
        onLog: (lines) => publishLiveLines(this.deps.bus, req.activationId, req.functionName, lines),
      });
    } finally {
      pool.release(lease);
    }
    const record = buildRecord(facts, {
      cold: lease.cold,
      sandboxId: lease.sandbox.id,
      initMs: lease.cold ? lease.initMs : null,
      queuedMs,
      outcome,
    });
    const engineDetails = this.recordedDetails(lease.sandbox);
    if (engineDetails) record.engineDetails = engineDetails;
    return this.finish(req, record, config, outcome.ok ? outcome.output : undefined);
  }

  private async finish(
    req: RunRequest,
    record: RunReply['activation'],
    config: VersionRecord['config'],
    output?: RunReply['output'],
  ): Promise<RunReply> {
    // The records policy: an unsampled successful sync call skips the store write entirely.
    // A caller that records the outcome with its own bookkeeping (async) gets it in the reply only.
    if (!req.callerRecords && (config.records === undefined || keepsRecord(config.records, record)))
      await this.deps.store.putActivation(record);
    const m = this.deps.metrics;
    // A failed attempt that will be retried is recorded as queued; the metric counts what happened.
    m.invocations.inc({
      function: record.functionName,
      status: statusOf(record.error?.code),
      cold: String(record.cold),
      engine: record.engine,
    });
    if (record.runMs !== null)
      m.duration.observe({ function: record.functionName, engine: record.engine }, record.runMs / 1000);
    return { activation: record, output };
  }

  /** The sandbox facts activation records carry, read once per sandbox (and again after a migrate or resize). */
  private recordedDetails(sandbox: Sandbox): Record<string, string> | undefined {
    if (!this.detailsBySandbox.has(sandbox))
      this.detailsBySandbox.set(sandbox, recordedDetails(sandbox.info().details));
    return this.detailsBySandbox.get(sandbox);
  }

  private async version(name: string, version: number): Promise<VersionRecord> {
    const v = await this.cachedVersion(name, version);
    if (v) return v;
    throw new NimbusError('not_found', `function ${name} version ${version} does not exist`);
  }

  /** A version record from this invoker's cache (dropped by forget on every deploy or delete), else the store. */
  async cachedVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const key = poolKey(name, version);
    const v = this.versions.get(key) ?? (await this.deps.store.getVersion(name, version));
    if (v) this.versions.set(key, v);
    return v;
  }

  /** The pool a call joins; a pinned call never joins a draining one (it would start cold each time). */
  private poolFor(v: VersionRecord, pinned = false): FunctionPool | undefined {
    const key = poolKey(v.name, v.version);
    const serving = this.pools.get(key);
    if (serving || pinned) return serving;
    const retired = [...this.retiring].find((pool) => pool.key === key);
    // A pool recycled for changed secrets takes no new calls: they start sandboxes with the new values in a new pool.
    return retired && !this.recycled.has(retired) ? retired : undefined;
  }

  /**
   * The pool of a version. `pinned`: the caller asked for this version (by number or alias), so a
   * version older than the newest gets a pool that serves calls (without minSandboxes; idle
   * sandboxes go after keepAliveMs) instead of one retired at once, where every call would start cold.
   */
  private async pool(v: VersionRecord, pinned = false): Promise<FunctionPool> {
    const existing = this.poolFor(v, pinned);
    if (existing) return existing;
    const driver = await this.drivers.get(v.config.engine);
    const again = this.poolFor(v, pinned);
    if (again) return again;
    const { config } = this.deps;
    const older = v.version < (this.latest.get(v.name) ?? 0);
    const concurrency = driver.capabilities.concurrentCalls ? v.config.concurrency : 1;
    const minSandboxes = older ? 0 : v.config.minSandboxes;
    // The artifact is looked up (and its hash checked) at every sandbox creation, not once per pool.
    const pool = new FunctionPool(
      poolKey(v.name, v.version),
      async () =>
        driver.create({
          id: `sb-${randomUUID().slice(0, 12)}`,
          functionName: v.name,
          functionVersion: v.version,
          artifactPath: await this.artifacts.path(v.artifactSha256),
          artifactSha256: v.artifactSha256,
          handler: v.config.handler,
          memoryMb: v.config.memoryMb,
          cpus: 1,
          env: await this.sandboxEnv(v),
          network: v.config.network,
          resultLimitBytes: config.resultLimitBytes,
          logLimitBytes: config.logLimitBytes,
          state: statePort(this.kv, v.name, (e, fn) =>
            this.deps.driverContext.log('warn', 'a KV operation failed in the store', { function: fn, err: String(e) }),
          ),
        }),
      {
        // Engines whose sandboxes run one call at a time get one call per sandbox.
        concurrency,
        maxSandboxes: v.config.maxSandboxes,
        minSandboxes,
        waitQueueLimit: config.waitQueueLimit,
        keepAliveMs: v.config.keepAlive ?? config.keepAliveMs,
        standby: config.standby,
        scaling: poolScaling(
          v.config,
          concurrency,
          minSandboxes,
          config,
          () => this.idleHistogram(v.name),
          (direction, panic) =>
            this.deps.metrics.autoscalerDecisions.inc({
              function: v.name,
              direction,
              window: panic ? 'panic' : 'stable',
            }),
        ),
      },
      { admit: (evict) => this.capacity.admit(v.config.memoryMb, poolKey(v.name, v.version), evict) },
    );
    this.drainBounds.set(pool, drainBoundMs(v.config.timeoutMs));
    if (older) {
      if (pinned) this.pools.set(pool.key, pool);
      // A call routed to a version that has since been replaced still runs on it, in a pool that drains at once.
      else this.retire(pool);
      return pool;
    }
    this.pools.set(pool.key, pool);
    // Only a version newer than any seen retires the older pools: those made since for pinned calls serve on.
    if (v.version > (this.latest.get(v.name) ?? 0)) {
      this.latest.set(v.name, v.version);
      this.retireOlderVersions(v.name, v.version);
    }
    return pool;
  }

  private idleHistogram(name: string): IdleHistogram {
    let histogram = this.idleTimes.get(name);
    if (!histogram) this.idleTimes.set(name, (histogram = new IdleHistogram(this.deps.config.keepAliveBinMs)));
    return histogram;
  }

  /** A sandbox's environment: the config's env and, read now, the values of the secrets it maps. */
  private async sandboxEnv(v: VersionRecord): Promise<Record<string, string>> {
    const mapping = v.config.secrets;
    if (!mapping || !this.deps.secretEnv) return v.config.env;
    return { ...v.config.env, ...(await this.deps.secretEnv(v.name, mapping)) };
  }

  /**
   * The function's secrets changed: every pool of it drains (calls in flight finish on the old
   * values) and the next call starts a sandbox, with the new values, in a new pool.
   */
  async recycle(name: string): Promise<void> {
    const stale = [...this.pools.values()].filter((pool) => parsePoolKey(pool.key).name === name);
    for (const pool of stale) {
      this.recycled.add(pool);
      this.retire(pool);
    }
    await Promise.all(stale.map((pool) => pool.disposalsUnderWay()));
  }

  /** A newer version takes the function's new calls: older pools drain. */
  private retireOlderVersions(name: string, newest: number): void {
    for (const [key, pool] of this.pools) {
      const of = parsePoolKey(key);
      if (of.name === name && of.version < newest) this.retire(pool);
    }
  }

  /** Moves a pool to the draining set until it is empty (FunctionPool.retire). */
  private retire(pool: FunctionPool): void {
    if (this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
    // A set, not a map by key: a version may have more than one pool draining (recycled, or retired again).
    this.retiring.add(pool);
    void pool.retire(this.drainBounds.get(pool) ?? drainBoundMs(0)).finally(() => this.retiring.delete(pool));
  }

  /** Keeps the function's minSandboxes warm on this invoker (after a deploy, and at start). */
  async keepWarm(name: string): Promise<void> {
    const fn = await this.deps.store.getFunction(name);
    if (!fn || fn.config.minSandboxes === 0) return;
    const pool = await this.pool(fn);
    await pool.fillTo(fn.config.minSandboxes).catch((e: unknown) => {
      // The caps came first: what fits stays warm, and the caller logs why the rest does not.
      if (!isNimbusError(e) || e.code !== 'throttled') throw e;
      throw new NimbusError(
        'throttled',
        `function ${name} has ${pool.size} of its ${fn.config.minSandboxes} minSandboxes warm: ${e.message}`,
        e.details,
      );
    });
  }

  /** Evicts the least recently used idle sandbox of another function, to make room for a call (capacity.ts). */
  private async evictIdle(exceptKey: string): Promise<boolean> {
    let oldest: { pool: FunctionPool; id: string; lastUsed: number } | undefined;
    for (const pool of this.pools.values()) {
      const candidate = pool.key === exceptKey ? undefined : pool.evictable();
      if (candidate && (!oldest || candidate.lastUsed < oldest.lastUsed)) oldest = { pool, ...candidate };
    }
    return oldest ? oldest.pool.evict(oldest.id) : false;
  }

  /**
   * Called when a function is deleted or redeployed elsewhere: retires its pools (they drain, see retire)
   * and drops its cached versions (cachedVersion), all of them or those older than `keepFrom`.
   */
  async forget(name: string, keepFrom = Infinity): Promise<void> {
    const stale = (key: string) => parsePoolKey(key).name === name && parsePoolKey(key).version < keepFrom;
    const retired = [...this.pools].filter(([key]) => stale(key)).map(([, pool]) => pool);
    for (const pool of retired) this.retire(pool);
    for (const key of this.versions.keys()) if (stale(key)) this.versions.delete(key);
    // A deleted function may come back with any later version; a redeployed one only moves forward.
    if (keepFrom === Infinity) {
      this.latest.delete(name);
      this.idleTimes.delete(name);
    } else if (keepFrom > (this.latest.get(name) ?? 0)) this.latest.set(name, keepFrom);
    // Idle sandboxes go at once, and the caller (a delete) hears back once they are gone;
    // calls in flight finish in the background.
    await Promise.all(retired.map((pool) => pool.disposalsUnderWay()));
    // A deleted function's snapshots and standby states go with it.
    if (keepFrom === Infinity) await this.drivers.forgetFunction(name);
  }

  listSandboxes(): (SandboxInfo & { inflight: number; calls: number; lastUsed: string })[] {
    return this.allPools().flatMap((p) =>
      p.sandboxes().map((s) => ({
        ...s.sandbox.info(),
        inflight: s.inflight,
        calls: s.calls ?? 0,
        lastUsed: new Date(s.lastUsed).toISOString(),
        invoker: this.id,
      })),
    );
  }

  /** Sandboxes saved to disk and stopped (standby), with the disk each takes. */
  listStandby(): StandbyInfo[] {
    return this.allPools().flatMap((p) => p.standbySandboxes().map((s) => standbyInfo(s, this.id)));
  }

  /** Pools taking new calls and pools draining: both hold sandboxes. */
  private allPools(): FunctionPool[] {
    return [...this.pools.values(), ...this.retiring];
  }

  private findSandbox(id: string): { pool: FunctionPool; sandbox: Sandbox } {
    for (const pool of this.allPools()) {
      const hit = pool.sandboxes().find((s) => s.sandbox.id === id);
      if (hit) return { pool, sandbox: hit.sandbox };
    }
    throw new NimbusError('not_found', `sandbox ${id} does not exist on invoker ${this.id}`);
  }

  async prewarm(name: string, version: number): Promise<SandboxInfo> {
    const v = await this.version(name, version);
    const sandbox = await (await this.pool(v)).prewarm();
    return sandbox.info();
  }

  async deleteSandbox(id: string): Promise<void> {
    // A standby sandbox is deleted with its saved state.
    const parked = this.allPools().find((p) => p.standbySandboxes().some((s) => s.id === id));
    const { pool } = parked ? { pool: parked } : this.findSandbox(id);
    await pool.removeSandbox(id);
  }

  async migrateSandbox(id: string, request: MigrateRequest): Promise<MigrationReport> {
    const { sandbox } = this.findSandbox(id);
    if (!sandbox.migrate) throw await this.lacking(sandbox, 'migrate');
    return sandbox.migrate(request).finally(() => this.detailsBySandbox.delete(sandbox));
  }

  async resizeSandbox(id: string, request: ResizeRequest): Promise<ResizeReport> {
    const { pool, sandbox } = this.findSandbox(id);
    if (!sandbox.resize) throw await this.lacking(sandbox, 'resize');
    // More memory is admitted like a new sandbox's (429 naming the cap when it does not fit).
    const undo = request.memoryMb === undefined ? undefined : pool.ticketOf(id)?.resize(request.memoryMb);
    return sandbox
      .resize(request)
      .catch((e: unknown) => {
        undo?.();
        throw e;
      })
      .finally(() => this.detailsBySandbox.delete(sandbox));
  }

  /** The not_supported error (HTTP 409) for an operation a sandbox lacks, with the reason its driver declares. */
  private async lacking(sandbox: Sandbox, operation: 'resize' | 'migrate'): Promise<NimbusError> {
    const declared = (await this.drivers.get(sandbox.engine)).capabilities[operation];
    const reason = declared === true ? `this sandbox cannot ${operation}` : declared;
    return new NimbusError('not_supported', `cannot ${operation} a ${sandbox.engine} sandbox: ${reason}`);
  }

  async dispose(): Promise<void> {
    this.ungauge?.();
    await this.unsubscribe?.();
    await Promise.all(this.allPools().map((p) => p.close()));
    this.pools.clear();
    this.retiring.clear();
    await this.drivers.dispose();
  }
}
