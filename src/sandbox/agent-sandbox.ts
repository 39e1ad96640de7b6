// A Sandbox backed by the Node runtime agent (process, container and microvm
// engines). The driver supplies how to reach and kill the agent; this class
// sends calls over the agent's channel and watches its process from outside:
// memory sampled, crashes noticed, V8's out-of-memory seen on stderr. Pending
// calls, deadlines and death are BaseSandbox's. Container and microVM
// sandboxes extend it with their VM operations (resize, migrate).
import type { Duplex, Readable } from 'node:stream';
import { AgentChannel } from './agent-channel.ts';
import type { EngineKind, InvokeCall, SandboxSpec } from './driver.ts';
import type { GuestMessage } from '../guest/protocol.ts';
import type { KvRequest } from '../guest/kv-protocol.ts';
import { answerKv } from './kv-answer.ts';
import { KV_LIMITS } from '../guest/kv-client.guest.ts';
import { NimbusError } from '../shared/errors.ts';
import { BaseSandbox, type DeathCause, type PendingCall } from './sandbox-base.ts';

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

const OOM_PATTERN = /heap out of memory|Reached heap limit|Allocation failed/;
const WATCH_INTERVAL_MS = 100;

export class AgentSandbox extends BaseSandbox {
  private readonly channel: AgentChannel;
  private stderrTail = '';
  private watchdog: NodeJS.Timeout | undefined;
  private lastSampleMb: number | undefined;
  private killing: Promise<void> | undefined;

  protected constructor(
    readonly engine: EngineKind,
    spec: SandboxSpec,
    private readonly proc: AgentProcess,
  ) {
    super(spec);
    // A KV put carries up to 1 MB of JSON, escaped once more in its frame: room for it whatever the result limit.
    const maxFrame =
      Math.max(spec.resultLimitBytes * 2 + spec.logLimitBytes * 2, KV_LIMITS.valueBytes * 2) + 256 * 1024;
    this.channel = new AgentChannel(proc.channel, maxFrame);
    proc.stderr?.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4096);
      if (OOM_PATTERN.test(this.stderrTail)) this.die('memory', 'the function ran out of memory (V8 heap limit)');
    });
    void proc.exited.then((how) => this.crashed(`sandbox exited (${how})`));
  }

  /** Starts the agent's function: sends init and waits for ready. */
  static start(
    engine: EngineKind,
    spec: SandboxSpec,
    proc: AgentProcess,
    initTimeoutMs: number,
    artifactPath = spec.artifactPath,
  ): Promise<AgentSandbox> {
    return AgentSandbox.open(new AgentSandbox(engine, spec, proc), initTimeoutMs, artifactPath);
  }

  /** Loads the function in a new sandbox (of any subclass); a sandbox that fails to load is disposed. */
  protected static async open<S extends AgentSandbox>(
    sandbox: S,
    initTimeoutMs: number,
    artifactPath: string,
  ): Promise<S> {
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

  protected details(): Record<string, unknown> {
    return { ...this.proc.details };
  }

  private init(timeoutMs: number, artifactPath: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new NimbusError('timeout', `function did not load within ${timeoutMs} ms (module top level runs too long)`),
          ),
        timeoutMs,
      );
      const fail = (reason: string) => {
        clearTimeout(timer);
        reject(
          new NimbusError(
            'function_crashed',
            `sandbox failed while loading the function: ${reason}${this.crashHint()}`,
          ),
        );
      };
      this.channel.once('broken', fail);
      void this.proc.exited.then((how) => fail(`exited (${how})`));
      this.channel.once('message', (m) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve();
        else if (m.type === 'init_error')
          reject(
            new NimbusError('function_error', `function failed to load: ${m.error.message}`, {
              stack: m.error.stack,
              logs: m.initLogs,
            }),
          );
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

  protected send(call: InvokeCall, pending: PendingCall): void {
    // The watchdog samples while calls run; a call shorter than its interval gets the latest sample.
    if (this.lastSampleMb !== undefined) pending.peakMb = this.lastSampleMb;
    this.channel.send({
      type: 'invoke',
      id: call.activationId,
      input: call.input,
      deadline: pending.startedAt + call.timeoutMs,
      timeoutMs: call.timeoutMs,
    });
  }

  private onMessage(m: GuestMessage): void {
    if (m.type === 'result') this.settle(m.id, m);
    else if (m.type === 'log') this.streamed(m.id, m.lines);
    else if (m.type === 'kv') void this.onKv(m.id, m.request);
  }

  /** A KV operation of the function, answered from its own store (the spec's, never one the guest names). */
  private async onKv(id: string, request: KvRequest): Promise<void> {
    const answer = await answerKv(this.spec.state, request);
    if (!this.isDead()) this.channel.send({ type: 'kv_result', id, answer });
  }

  private async watchMemory(): Promise<void> {
    if (this.isDead() || this.pending.size === 0) return;
    const mb = await this.proc.memoryMb().catch(() => undefined);
    if (mb === undefined || this.isDead()) return;
    this.lastSampleMb = mb;
    for (const p of this.pending.values()) p.peakMb = Math.max(p.peakMb ?? 0, mb);
    if (mb > this.memoryLimitMb)
      this.die('memory', `sandbox used ${Math.round(mb)} MB, over its ${this.memoryLimitMb} MB limit`);
  }

  /** The sandbox broke or exited: a crash, unless the engine says memory killed it. */
  private crashed(reason: string): void {
    if (!this.proc.deathCause) return this.die('crash', reason);
    void this.proc.deathCause().then(
      (cause) =>
        cause === 'memory'
          ? this.die('memory', 'the sandbox was killed for going over its memory limit')
          : this.die('crash', reason),
      () => this.die('crash', reason),
    );
  }

  protected stop(_cause: DeathCause): void {
    clearInterval(this.watchdog);
    this.killing = this.proc.kill();
    this.channel.close();
  }

  protected override crashHint(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; stderr: ${tail.slice(-500)}` : '';
  }

  memoryUsageMb(): Promise<number | undefined> {
    return this.isDead() ? Promise.resolve(undefined) : this.proc.memoryMb();
  }

  async dispose(): Promise<void> {
    this.die('disposed', 'disposed');
    await this.killing;
  }
}
