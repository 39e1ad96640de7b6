// One isolate sandbox: a V8 isolate in the pool process. Calls run one at a
// time (an isolate has one thread); the pool enforces each call's deadline and
// memory limit, and a host-side backstop kills the whole pool if it stops
// answering, so a wedged pool can never hang a caller.
import type { GuestError } from '../../guest/protocol.ts';
import type { PoolEvent } from '../../guest/isolate-protocol.ts';
import { NimbusError } from '../../shared/errors.ts';
import type { InvokeCall, InvokeOutcome, Sandbox, SandboxInfo, SandboxSpec, SandboxState } from '../driver.ts';
import type { PoolProcess } from './pool-process.ts';

const BACKSTOP_MS = 3000;
const FATAL = new Set(['timeout', 'memory_exhausted', 'function_crashed']);

export class IsolateSandbox implements Sandbox {
  readonly engine = 'isolate' as const;
  readonly id: string;
  private deadReason: string | undefined;
  private readonly deathListeners: ((reason: string) => void)[] = [];
  private readonly pending = new Map<string, (e: Extract<PoolEvent, { type: 'result' }>) => void>();
  private readonly statsWaiters = new Map<string, (mb: number | undefined) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly createdAt = new Date().toISOString();
  private readonly unlisten: () => void;
  style = 'unknown';

  constructor(readonly spec: SandboxSpec, private readonly pool: PoolProcess) {
    this.id = spec.id;
    this.unlisten = pool.listen(spec.id, (e) => this.onEvent(e));
    pool.onDeath((reason) => this.die(`the isolate pool died: ${reason}`));
  }

  /** Sends create and waits for the isolate to load the function. */
  async start(code: string, codeKey: string, timeoutMs: number): Promise<void> {
    const created = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new NimbusError('timeout', `function did not load within ${timeoutMs} ms`)), timeoutMs);
      this.onCreated = (e) => {
        clearTimeout(timer);
        if (e.type === 'created') {
          this.style = e.style;
          resolve();
        } else reject(new NimbusError(e.error.code === 'memory_exhausted' ? 'memory_exhausted' : 'function_error', e.error.message, { logs: e.logs ?? '' }));
      };
      this.pool.onDeath((reason) => reject(new NimbusError('function_crashed', `the isolate pool died while loading the function: ${reason}`)));
    });
    const s = this.spec;
    this.pool.send({ type: 'create', sid: s.id, code, codeKey, handler: s.handler, functionName: s.functionName, functionVersion: s.functionVersion, memoryMb: s.memoryMb, env: s.env, resultLimitBytes: s.resultLimitBytes, logLimitBytes: s.logLimitBytes });
    await created;
  }

  private onCreated: ((e: Extract<PoolEvent, { type: 'created' | 'create_error' }>) => void) | undefined;

  private onEvent(e: PoolEvent): void {
    if (e.type === 'created' || e.type === 'create_error') this.onCreated?.(e);
    else if (e.type === 'result') this.pending.get(e.id)?.(e);
    else if (e.type === 'stats') this.statsWaiters.get(e.id)?.(e.heapMb);
    else if (e.type === 'dead') this.die(`isolate ended: ${e.reason}`);
  }

  get state(): SandboxState {
    return this.deadReason ? 'dead' : 'ready';
  }

  info(): SandboxInfo {
    return {
      id: this.id, engine: 'isolate', functionName: this.spec.functionName, functionVersion: this.spec.functionVersion,
      state: this.state, memoryMb: this.spec.memoryMb, cpus: this.spec.cpus, createdAt: this.createdAt,
      details: { poolPid: this.pool.hostPid, handlerStyle: this.style, ...(this.deadReason ? { deathReason: this.deadReason } : {}) },
    };
  }

  invoke(call: InvokeCall): Promise<InvokeOutcome> {
    if (this.deadReason) return Promise.reject(new NimbusError('unavailable', `sandbox ${this.id} is dead: ${this.deadReason}`));
    const run = this.queue.then(() => this.runOne(call));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private runOne(call: InvokeCall): Promise<InvokeOutcome> {
    if (this.deadReason) return Promise.resolve(this.failure({ code: 'function_crashed', message: `the isolate is gone: ${this.deadReason}` }, 0));
    const started = Date.now();
    return new Promise((resolve) => {
      const backstop = setTimeout(() => {
        this.pending.delete(call.activationId);
        resolve(this.failure({ code: 'timeout', message: `function timed out after ${call.timeoutMs} ms (the pool stopped answering and was restarted)` }, started));
        void this.pool.kill('a call overran its deadline and the pool did not stop it');
      }, call.timeoutMs + BACKSTOP_MS);
      this.pending.set(call.activationId, (e) => {
        clearTimeout(backstop);
        this.pending.delete(call.activationId);
        // These end the isolate: never hand it another call, even before the pool's 'dead' arrives.
        if (!e.ok && e.error && FATAL.has(e.error.code)) this.die(`isolate ended: ${e.error.code}`);
        resolve({ ok: e.ok, output: e.output, error: e.ok ? undefined : e.error, logs: e.logs, logsTruncated: e.logsTruncated, runMs: Date.now() - started });
      });
      this.pool.send({ type: 'invoke', sid: this.id, id: call.activationId, input: call.input, deadline: started + call.timeoutMs });
    });
  }

  private failure(error: GuestError, started: number): InvokeOutcome {
    return { ok: false, error, logs: '', logsTruncated: false, runMs: started ? Date.now() - started : 0 };
  }

  memoryUsageMb(): Promise<number | undefined> {
    if (this.deadReason) return Promise.resolve(undefined);
    const id = `stats-${Math.random().toString(36).slice(2)}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), 2000);
      const done = (mb: number | undefined) => {
        clearTimeout(timer);
        this.statsWaiters.delete(id);
        resolve(mb);
      };
      this.statsWaiters.set(id, done);
      this.pool.send({ type: 'stats', sid: this.id, id });
    });
  }

  onDeath(listener: (reason: string) => void): void {
    if (this.deadReason) listener(this.deadReason);
    else this.deathListeners.push(listener);
  }

  private die(reason: string): void {
    if (this.deadReason) return;
    this.deadReason = reason;
    for (const [id, resolve] of this.pending) resolve({ type: 'result', sid: this.id, id, ok: false, error: { code: 'function_crashed', message: reason }, logs: '', logsTruncated: false });
    this.pending.clear();
    this.unlisten();
    for (const l of this.deathListeners.splice(0)) l(reason);
  }

  async dispose(): Promise<void> {
    if (!this.deadReason) this.pool.send({ type: 'dispose', sid: this.id });
    this.die('disposed');
  }
}
