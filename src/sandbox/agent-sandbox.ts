// A Sandbox backed by the Node runtime agent (process, container and microvm
// engines). The driver supplies how to reach and kill the agent; this class
// keeps the promises every engine makes: timeouts enforced from outside,
// memory watched from outside, crashes noticed, a dead sandbox never reused.
import type { Duplex, Readable } from 'node:stream';
import { AgentChannel } from './agent-channel.ts';
import type { EngineKind, InvokeCall, InvokeOutcome, Sandbox, SandboxInfo, SandboxSpec, SandboxState } from './driver.ts';
import type { GuestMessage, GuestError } from '../guest/protocol.ts';
import { NimbusError } from '../shared/errors.ts';

export interface AgentProcess {
  /** The control channel to the agent. */
  channel: Duplex;
  /** The sandbox's own stderr, read for crash causes (V8 out-of-memory). */
  stderr?: Readable;
  /** Resolves with a description once everything the sandbox ran is gone. */
  exited: Promise<string>;
  /** Kills everything the sandbox runs; resolves once it is gone and cleaned up. */
  kill(): Promise<void>;
  memoryMb(): Promise<number | undefined>;
  details: Record<string, unknown>;
  /** Optional: 'memory' when the engine saw the sandbox killed for its memory (a cgroup OOM kill). */
  deathCause?(): Promise<'memory' | undefined>;
}

type DeathCause = 'timeout' | 'memory' | 'oversized' | 'crash' | 'disposed';

interface PendingCall {
  resolve: (outcome: InvokeOutcome) => void;
  timer: NodeJS.Timeout;
  startedAt: number;
  peakMb?: number;
}

const OOM_PATTERN = /heap out of memory|Reached heap limit|Allocation failed/;
const WATCH_INTERVAL_MS = 100;

export class AgentSandbox implements Sandbox {
  readonly id: string;
  private readonly channel: AgentChannel;
  private readonly pending = new Map<string, PendingCall>();
  private readonly deathListeners: ((reason: string) => void)[] = [];
  private readonly createdAt = new Date().toISOString();
  private stderrTail = '';
  private cause: DeathCause | undefined;
  private deathReason: string | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastSampleMb: number | undefined;
  private killing: Promise<void> | undefined;
  memoryLimitMb: number;
  cpus: number;

  private constructor(readonly engine: EngineKind, readonly spec: SandboxSpec, private readonly proc: AgentProcess) {
    this.id = spec.id;
    this.memoryLimitMb = spec.memoryMb;
    this.cpus = spec.cpus;
    const maxFrame = spec.resultLimitBytes * 2 + spec.logLimitBytes * 2 + 256 * 1024;
    this.channel = new AgentChannel(proc.channel, maxFrame);
    proc.stderr?.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4096);
      if (OOM_PATTERN.test(this.stderrTail)) this.die('memory', 'the function ran out of memory (V8 heap limit)');
    });
    void proc.exited.then((how) => this.crashed(`sandbox exited (${how})`));
  }

  /** Starts the agent's function: sends init and waits for ready. */
  static async start(engine: EngineKind, spec: SandboxSpec, proc: AgentProcess, initTimeoutMs: number, artifactPath = spec.artifactPath): Promise<AgentSandbox> {
    const sandbox = new AgentSandbox(engine, spec, proc);
    try {
      await sandbox.init(initTimeoutMs, artifactPath);
    } catch (e) {
      await sandbox.dispose();
      throw e;
    }
    sandbox.channel.on('message', (m) => sandbox.onMessage(m));
    sandbox.watchdog = setInterval(() => void sandbox.watchMemory(), WATCH_INTERVAL_MS);
    sandbox.watchdog.unref();
    return sandbox;
  }

  get state(): SandboxState {
    return this.cause ? 'dead' : 'ready';
  }

  info(): SandboxInfo {
    return {
      id: this.id,
      engine: this.engine,
      functionName: this.spec.functionName,
      functionVersion: this.spec.functionVersion,
      state: this.state,
      memoryMb: this.memoryLimitMb,
      cpus: this.cpus,
      createdAt: this.createdAt,
      details: { ...this.proc.details, ...(this.deathReason ? { deathReason: this.deathReason } : {}) },
    };
  }

  private init(timeoutMs: number, artifactPath: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new NimbusError('timeout', `function did not load within ${timeoutMs} ms (module top level runs too long)`)), timeoutMs);
      const fail = (reason: string) => {
        clearTimeout(timer);
        reject(new NimbusError('function_crashed', `sandbox failed while loading the function: ${reason}${this.stderrHint()}`));
      };
      this.channel.once('broken', fail);
      void this.proc.exited.then((how) => fail(`exited (${how})`));
      this.channel.once('message', (m) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve();
        else if (m.type === 'init_error') reject(new NimbusError('function_error', `function failed to load: ${m.error.message}`, { stack: m.error.stack, logs: m.initLogs }));
        else reject(new NimbusError('internal', `agent answered init with ${m.type}`));
      });
      this.channel.send({
        type: 'init',
        artifactPath,
        handler: this.spec.handler,
        functionName: this.spec.functionName,
        functionVersion: this.spec.functionVersion,
        memoryMb: this.spec.memoryMb,
        env: this.spec.env,
        resultLimitBytes: this.spec.resultLimitBytes,
        logLimitBytes: this.spec.logLimitBytes,
      });
    }).then(() => {
      this.channel.on('broken', (reason, oversized) => {
        if (oversized) return this.die('oversized', reason);
        // A closed channel usually means the sandbox is exiting: let its exit status say why.
        setTimeout(() => this.crashed(reason), 300).unref();
      });
    });
  }

  invoke(call: InvokeCall): Promise<InvokeOutcome> {
    if (this.cause) return Promise.reject(new NimbusError('unavailable', `sandbox ${this.id} is dead: ${this.deathReason}`));
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.onTimeout(call), call.timeoutMs);
      const pending: PendingCall = { resolve, timer, startedAt: Date.now() };
      this.pending.set(call.activationId, pending);
      // The watchdog samples while calls run; a call shorter than its interval gets the latest sample.
      if (this.lastSampleMb !== undefined) pending.peakMb = this.lastSampleMb;
      this.channel.send({ type: 'invoke', id: call.activationId, input: call.input, deadline: Date.now() + call.timeoutMs, timeoutMs: call.timeoutMs });
    });
  }

  private onTimeout(call: InvokeCall): void {
    const p = this.pending.get(call.activationId);
    if (!p) return;
    this.pending.delete(call.activationId);
    p.resolve(this.failure(p, { code: 'timeout', message: `function timed out after ${call.timeoutMs} ms` }));
    this.die('timeout', `activation ${call.activationId} timed out; sandbox killed`);
  }

  private onMessage(m: GuestMessage): void {
    if (m.type !== 'result') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve({
      ok: m.ok,
      output: m.output,
      error: m.ok ? undefined : m.error ?? { code: 'function_error', message: 'unknown error' },
      logs: m.logs,
      logsTruncated: m.logsTruncated,
      runMs: Date.now() - p.startedAt,
      maxMemoryMb: p.peakMb,
    });
  }

  private failure(p: PendingCall, error: GuestError): InvokeOutcome {
    return { ok: false, error, logs: '', logsTruncated: false, runMs: Date.now() - p.startedAt, maxMemoryMb: p.peakMb };
  }

  private async watchMemory(): Promise<void> {
    if (this.cause || this.pending.size === 0) return;
    const mb = await this.proc.memoryMb().catch(() => undefined);
    if (mb === undefined || this.cause) return;
    this.lastSampleMb = mb;
    for (const p of this.pending.values()) p.peakMb = Math.max(p.peakMb ?? 0, mb);
    if (mb > this.memoryLimitMb) this.die('memory', `sandbox used ${Math.round(mb)} MB, over its ${this.memoryLimitMb} MB limit`);
  }

  /** The sandbox broke or exited: a crash, unless the engine says memory killed it. */
  private crashed(reason: string): void {
    if (!this.proc.deathCause) return this.die('crash', reason);
    void this.proc.deathCause().then(
      (cause) => (cause === 'memory' ? this.die('memory', 'the sandbox was killed for going over its memory limit') : this.die('crash', reason)),
      () => this.die('crash', reason),
    );
  }

  private die(cause: DeathCause, reason: string): void {
    if (this.cause) return;
    this.cause = cause;
    this.deathReason = reason;
    clearInterval(this.watchdog);
    const error = this.errorFor(cause, reason);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(this.failure(p, error));
    }
    this.killing = this.proc.kill();
    this.channel.close();
    for (const l of this.deathListeners) l(reason);
  }

  private errorFor(cause: DeathCause, reason: string): GuestError {
    switch (cause) {
      case 'memory':
        return { code: 'memory_exhausted', message: `${reason}; raise memoryMb or use less memory` };
      case 'oversized':
        return { code: 'result_too_large', message: `${reason}; return less data` };
      case 'timeout':
        return { code: 'function_crashed', message: `sandbox killed: ${reason}` };
      default:
        return { code: 'function_crashed', message: `${reason}${this.stderrHint()}` };
    }
  }

  private stderrHint(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; stderr: ${tail.slice(-500)}` : '';
  }

  memoryUsageMb(): Promise<number | undefined> {
    return this.cause ? Promise.resolve(undefined) : this.proc.memoryMb();
  }

  onDeath(listener: (reason: string) => void): void {
    if (this.cause) listener(this.deathReason ?? 'dead');
    else this.deathListeners.push(listener);
  }

  async dispose(): Promise<void> {
    this.die('disposed', 'disposed');
    await this.killing;
  }
}
