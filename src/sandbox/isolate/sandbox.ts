// One isolate sandbox: a V8 isolate in its function's pool process. Calls run
// concurrently in the isolate; the pool enforces each call's deadline and the
// memory limit, and a host-side backstop answers `timeout` on time even when
// the pool hangs, then pings it and kills the whole pool if it stays silent
// (its other calls fail with function_crashed; the next create restarts it).
// Pending calls, deadlines and death are BaseSandbox's.
import {
  PoolCommandType,
  PoolEventType,
  type HeapStats,
  type PoolEvent,
  type PoolEventOf,
} from '../../guest/isolate-protocol.ts';
import { NimbusError, type ErrorCode } from '../../shared/errors.ts';
import type { EgressPolicy, InvokeCall, SandboxSpec } from '../driver.ts';
import { BaseSandbox, type DeathCause, type PendingCall } from '../sandbox-base.ts';
import type { PoolDeath, PoolProcess } from './pool-process.ts';
import { fetchBudget, proxyFetch, type FetchBudget } from './fetch-proxy.ts';
import { answerKv } from '../kv-answer.ts';

/** How long past a call's deadline the host waits for the pool before it answers timeout itself. */
export const BACKSTOP_GRACE_MS = 250;
/** How long a pool may take to answer a ping, a dispose or a stats request. */
const ANSWER_MS = 1500;
const FATAL = new Set(['timeout', 'memory_exhausted', 'function_crashed']);
const CREATE_ERRORS = new Set<ErrorCode>([
  'timeout',
  'memory_exhausted',
  'function_crashed',
  'function_error',
  'internal',
]);

export interface LoadFacts {
  style: string;
  initMs: number;
  coldStartMs: number;
  codeCache: string;
  /** Whether a ready spare isolate was used. */
  spare: boolean;
}

export class IsolateSandbox extends BaseSandbox {
  readonly engine = 'isolate' as const;
  protected override deadlineGraceMs = BACKSTOP_GRACE_MS;
  protected override timeoutNote = ' (the isolate pool did not stop it in time)';
  private readonly waiters = new Map<string, (e: PoolEvent | undefined) => void>();
  private readonly unlisten: () => void;
  /** Replaced once subscribed; a pool already dead calls back during the subscription. */
  private unwatchPool: () => void = () => undefined;
  private disposing: Promise<void> | undefined;
  private asked = 0;
  private heap: HeapStats | undefined;
  private onLoad: ((e: PoolEvent) => void) | undefined;
  load: LoadFacts | undefined;
  /** What this sandbox's fetches may hold in the platform at once. */
  private readonly fetchBudget: FetchBudget;

  private constructor(
    spec: SandboxSpec,
    private readonly pool: PoolProcess,
    private readonly egress: EgressPolicy | undefined,
  ) {
    super(spec);
    this.fetchBudget = fetchBudget(spec.memoryMb);
    this.unlisten = pool.listen(spec.id, (e) => this.onEvent(e));
    this.unwatchPool = pool.onDeath((d) => this.onPoolDeath(d));
  }

  /** Creates the isolate in the pool and loads the function; rejects with the function's load error. */
  static async create(
    spec: SandboxSpec,
    pool: PoolProcess,
    code: string,
    initTimeoutMs: number,
    egress?: EgressPolicy,
  ): Promise<IsolateSandbox> {
    const started = performance.now();
    const sandbox = new IsolateSandbox(spec, pool, egress);
    try {
      const e = await sandbox.loaded(code, initTimeoutMs);
      sandbox.load = {
        style: e.style,
        initMs: e.initMs,
        codeCache: e.codeCache,
        spare: e.spare,
        coldStartMs: performance.now() - started,
      };
      return sandbox;
    } catch (e) {
      await sandbox.dispose();
      throw e;
    }
  }

  private loaded(code: string, initTimeoutMs: number): Promise<PoolEventOf<typeof PoolEventType.Created>> {
    const s = this.spec;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new NimbusError('timeout', `the function did not load within ${initTimeoutMs} ms`));
        void this.pool.checkAlive(ANSWER_MS);
      }, initTimeoutMs + BACKSTOP_GRACE_MS);
      this.onLoad = (e) => {
        clearTimeout(timer);
        this.onLoad = undefined;
        if (e.type === PoolEventType.Created) return resolve(e);
        if (e.type !== 'create_error') return;
        const code = CREATE_ERRORS.has(e.error.code as ErrorCode) ? (e.error.code as ErrorCode) : 'function_error';
        reject(new NimbusError(code, e.error.message, { stack: e.error.stack, logs: e.logs }));
      };
      this.onDeath((reason) => {
        clearTimeout(timer);
        const death = this.pool.death;
        const code = death && (!death.culprit || death.culprit === this.id) ? death.code : 'function_crashed';
        reject(new NimbusError(code, `the sandbox died while loading the function: ${reason}`));
      });
      this.pool.send({
        type: PoolCommandType.Create,
        sid: s.id,
        code,
        codeKey: s.artifactSha256,
        handler: s.handler,
        functionName: s.functionName,
        functionVersion: s.functionVersion,
        memoryMb: s.memoryMb,
        env: s.env,
        network: s.network,
        resultLimitBytes: s.resultLimitBytes,
        logLimitBytes: s.logLimitBytes,
        initTimeoutMs,
      });
    });
  }

  /** Only the isolate that brought the pool down gets the pool's verdict; the others lost their pool. */
  private onPoolDeath(d: PoolDeath): void {
    if (d.culprit && d.culprit !== this.id) {
      this.die(
        'crash',
        `another sandbox of this function brought its isolate pool down (${d.code === 'memory_exhausted' ? 'out of memory' : 'crash'}); the pool is being restarted`,
      );
    } else this.die(d.code === 'memory_exhausted' ? 'memory' : 'crash', d.message);
  }

  private onEvent(e: PoolEvent): void {
    if (e.type === PoolEventType.Created || e.type === PoolEventType.CreateError) this.onLoad?.(e);
    else if (e.type === PoolEventType.Result) this.onResult(e);
    else if (e.type === PoolEventType.Dead) this.die('crash', `the isolate ended (${e.code}): ${e.reason}`);
    else if (e.type === PoolEventType.Stats || e.type === PoolEventType.Disposed) this.waiters.get(e.id)?.(e);
    else if (e.type === PoolEventType.Fetch) void this.onFetch(e);
    else if (e.type === PoolEventType.Kv) void this.onKv(e);
    else if (e.type === PoolEventType.Log) this.streamed(e.id, e.lines);
  }

  private onResult(e: PoolEventOf<typeof PoolEventType.Result>): void {
    if (e.heap) this.heap = e.heap;
    this.settle(e.id, e, this.heap ? this.heap.usedMb + this.heap.externalMb : undefined);
    // These end the isolate: never hand it another call, even before the pool's 'dead' arrives.
    if (!e.ok && e.error && FATAL.has(e.error.code)) this.die('crash', `the isolate ended: ${e.error.code}`);
  }

  private async onFetch(e: PoolEventOf<typeof PoolEventType.Fetch>): Promise<void> {
    const answer = this.spec.network
      ? await proxyFetch(e.request, e.deadline, this.egress, undefined, this.fetchBudget)
      : { error: 'this function has no network access' };
    if (!this.isDead()) this.pool.send({ type: PoolCommandType.Fetched, sid: this.id, fetchId: e.fetchId, ...answer });
  }

  /** A KV operation of the function, answered from its own store (the spec's, never one the guest names). */
  private async onKv(e: PoolEventOf<typeof PoolEventType.Kv>): Promise<void> {
    const answer = await answerKv(this.spec.state, e.request);
    if (!this.isDead()) this.pool.send({ type: PoolCommandType.KvResult, sid: this.id, kvId: e.kvId, answer });
  }

  protected details(): Record<string, unknown> {
    return {
      poolPid: this.pool.nodePid,
      bwrapPid: this.pool.bwrapPid,
      confinement: 'bubblewrap: no network, read-only filesystem, own pid namespace, no capabilities',
      node: this.pool.node,
      ...(this.load ?? {}),
      ...(this.heap ? { heap: this.heap } : {}),
    };
  }

  protected send(call: InvokeCall, pending: PendingCall): void {
    this.pool.send({
      type: PoolCommandType.Invoke,
      sid: this.id,
      id: call.activationId,
      input: call.input,
      deadline: pending.startedAt + call.timeoutMs,
    });
  }

  /** Sends a request that the pool answers by id; undefined when it does not answer in time. */
  private ask(type: typeof PoolCommandType.Stats | typeof PoolCommandType.Dispose): Promise<PoolEvent | undefined> {
    const id = `${type}-${++this.asked}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), ANSWER_MS);
      const done = (e: PoolEvent | undefined) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        resolve(e);
      };
      this.waiters.set(id, done);
      this.pool.send({ type, sid: this.id, id });
    });
  }

  async memoryUsageMb(): Promise<number | undefined> {
    if (this.isDead()) return undefined;
    const e = await this.ask(PoolCommandType.Stats);
    if (e?.type === PoolEventType.Stats && e.heap) this.heap = e.heap;
    return e?.type === PoolEventType.Stats && e.heap ? e.heap.usedMb + e.heap.externalMb : undefined;
  }

  /** The isolate is done with: stop hearing of the pool; a call the pool did not stop makes sure the pool lives. */
  protected stop(cause: DeathCause): void {
    this.unwatchPool();
    if (cause === 'timeout') void this.pool.checkAlive(ANSWER_MS);
  }

  /** Ends the isolate in the pool (waiting for the pool to confirm, or killing a pool that does not). */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      const ack = this.pool.alive ? this.ask(PoolCommandType.Dispose) : undefined;
      this.die('disposed', 'disposed');
      if (ack && !(await ack) && this.pool.alive) await this.pool.checkAlive(ANSWER_MS);
      this.unlisten();
      for (const w of this.waiters.values()) w(undefined);
    })();
    return this.disposing;
  }
}
