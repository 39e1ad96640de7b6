// What every sandbox that owns its calls keeps, whatever the engine: the calls
// in flight with their deadline timers, the one outcome a call gets when its
// sandbox dies (timeout, memory, oversized result, crash, dispose), death
// listeners called exactly once, state and info(). An engine adds only how a
// call is sent and how its process is watched and killed (AgentSandbox for
// process, container and microvm; IsolateSandbox for the isolate pool).
import type { GuestError, LiveLine } from '../guest/protocol.ts';
import { NimbusError } from '../shared/errors.ts';
import type {
  EngineKind,
  InvokeCall,
  InvokeOutcome,
  Sandbox,
  SandboxInfo,
  SandboxSpec,
  SandboxState,
} from './driver.ts';

/** Why a sandbox died; the reason (a sentence) says the rest. */
export type DeathCause = 'timeout' | 'memory' | 'oversized' | 'crash' | 'disposed';

export interface PendingCall {
  resolve: (outcome: InvokeOutcome) => void;
  timer: NodeJS.Timeout;
  startedAt: number;
  /** Peak memory seen while the call ran, MB, when the engine samples it. */
  peakMb?: number;
  /** Live log lines (InvokeCall.onLog), and the characters passed on so far. */
  onLog?: (lines: LiveLine[]) => void;
  liveChars?: number;
}

/** What a function's answer carries, as the engine's protocol delivers it. */
export interface CallResult {
  ok: boolean;
  output?: InvokeOutcome['output'];
  error?: GuestError;
  logs: string;
  logsTruncated: boolean;
}

const MEMORY_ADVICE = 'raise memoryMb or use less memory';

export abstract class BaseSandbox implements Sandbox {
  abstract readonly engine: EngineKind;
  readonly id: string;
  memoryLimitMb: number;
  cpus: number;
  protected readonly pending = new Map<string, PendingCall>();
  private readonly deathListeners: ((reason: string) => void)[] = [];
  private readonly createdAt = new Date().toISOString();
  private cause: DeathCause | undefined;
  private reason: string | undefined;
  /** How long past a call's deadline the host waits for the engine before it answers timeout itself. */
  protected deadlineGraceMs = 0;
  /** Added to the timeout answer when the host, not the engine, had to stop the call. */
  protected timeoutNote = '';

  constructor(readonly spec: SandboxSpec) {
    this.id = spec.id;
    this.memoryLimitMb = spec.memoryMb;
    this.cpus = spec.cpus;
  }

  /** Sends one call to the engine; its answer comes back through settle(). */
  protected abstract send(call: InvokeCall, pending: PendingCall): void;
  /** Stops watching the engine's process and kills what must go; called once, on death. */
  protected abstract stop(cause: DeathCause): void;
  /** Engine-specific facts for info(). */
  protected abstract details(): Record<string, unknown>;
  abstract memoryUsageMb(): Promise<number | undefined>;
  abstract dispose(): Promise<void>;

  get state(): SandboxState {
    return this.cause ? 'dead' : 'ready';
  }

  /** A method, not the state getter, so that a check after an await is not narrowed away. */
  protected isDead(): boolean {
    return this.cause !== undefined;
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
      details: { ...this.details(), ...(this.reason ? { deathReason: this.reason } : {}) },
    };
  }

  invoke(call: InvokeCall): Promise<InvokeOutcome> {
    if (this.cause) return Promise.reject(new NimbusError('unavailable', `sandbox ${this.id} is dead: ${this.reason}`));
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.overdue(call), call.timeoutMs + this.deadlineGraceMs);
      const pending: PendingCall = { resolve, timer, startedAt: Date.now(), onLog: call.onLog, liveChars: 0 };
      this.pending.set(call.activationId, pending);
      this.send(call, pending);
    });
  }

  /** The engine answered a call; a late answer (the call already failed) is dropped. */
  protected settle(id: string, r: CallResult, maxMemoryMb?: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({
      ok: r.ok,
      output: r.output,
      error: r.ok ? undefined : (r.error ?? { code: 'function_error', message: 'unknown error' }),
      logs: r.logs,
      logsTruncated: r.logsTruncated,
      runMs: Date.now() - p.startedAt,
      maxMemoryMb: maxMemoryMb ?? p.peakMb,
    });
  }

  /**
   * Live log lines of a call in flight. The guest is not trusted: lines for a call it is not
   * running are dropped, at most twice the record's log limit passes, and times are clamped
   * to the call's span on the host's clock.
   */
  protected streamed(id: string, lines: LiveLine[]): void {
    const p = this.pending.get(id);
    if (!p?.onLog) return;
    let chars = p.liveChars ?? 0;
    for (const l of lines) chars += l.line.length + 1;
    if (chars > this.spec.logLimitBytes * 2) return;
    p.liveChars = chars;
    const now = Date.now();
    for (const l of lines) l.ts = Math.min(now, Math.max(p.startedAt, l.ts));
    p.onLog(lines);
  }

  /** No answer by the deadline: the call times out and, since its code may still run, the sandbox dies. */
  private overdue(call: InvokeCall): void {
    const p = this.pending.get(call.activationId);
    if (!p) return;
    this.pending.delete(call.activationId);
    p.resolve(
      this.failure(p, { code: 'timeout', message: `function timed out after ${call.timeoutMs} ms${this.timeoutNote}` }),
    );
    this.die('timeout', `activation ${call.activationId} timed out${this.timeoutNote}; sandbox killed`);
  }

  private failure(p: PendingCall, error: GuestError): InvokeOutcome {
    return { ok: false, error, logs: '', logsTruncated: false, runMs: Date.now() - p.startedAt, maxMemoryMb: p.peakMb };
  }

  /** Ends the sandbox once: every call in flight fails with the same error, then the listeners hear why. */
  protected die(cause: DeathCause, reason: string): void {
    if (this.cause) return;
    this.cause = cause;
    this.reason = reason;
    const error = this.errorFor(cause, reason);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(this.failure(p, error));
    }
    this.stop(cause);
    for (const l of this.deathListeners.splice(0)) l(reason);
  }

  private errorFor(cause: DeathCause, reason: string): GuestError {
    switch (cause) {
      case 'memory':
        // Some engines' reasons already give the advice (the isolate pool's watchdog).
        return {
          code: 'memory_exhausted',
          message: reason.includes(MEMORY_ADVICE) ? reason : `${reason}; ${MEMORY_ADVICE}`,
        };
      case 'oversized':
        return { code: 'result_too_large', message: `${reason}; return less data` };
      case 'timeout':
        return { code: 'function_crashed', message: `sandbox killed: ${reason}` };
      default:
        return { code: 'function_crashed', message: `${reason}${this.crashHint()}` };
    }
  }

  /** What the engine saw of a crash (a stderr tail), appended to crash errors. */
  protected crashHint(): string {
    return '';
  }

  onDeath(listener: (reason: string) => void): void {
    if (this.reason !== undefined) listener(this.reason);
    else this.deathListeners.push(listener);
  }
}
