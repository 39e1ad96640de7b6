// Starts and talks to one isolate pool process (bubblewrap → Node running the
// pool bundle; one per function): framed, validated events routed by sandbox
// id, a liveness check that kills a pool which stops answering, and a kill
// that waits until every process of the pool is gone. When a pool dies its
// sandboxes learn what happened in words a caller may read; the pool's own
// stderr (V8's fatal reports, stacks of the pool) goes to the platform's log.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import { FrameDecoder, FrameWriter } from '../../guest/protocol.ts';
import { PoolCommandType, PoolEvent, PoolEventType, type PoolCommand } from '../../guest/isolate-protocol.ts';
import type { IsolateBundles } from './bundle.ts';
import { sendFilter } from '../seccomp/filter.ts';
import { poolCommand, SECCOMP_FD } from './bwrap.ts';
import { releaseSandboxId, takeSandboxId } from '../process/identities.ts';
import { findSetpriv } from '../uid-drop.ts';

const MAX_FRAME_BYTES = 256 * 1024 * 1024;

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** Host pids of the pool's processes below bubblewrap (its pid-1 helper and the Node pool). */
async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (let level = [pid]; level.length;) {
    const next = (await Promise.all(level.map(childrenOf))).flat();
    out.push(...next);
    level = next;
  }
  return out;
}

/** How a pool ended, for its sandboxes: what to tell callers, with which code. */
export interface PoolDeath {
  message: string;
  code: 'function_crashed' | 'memory_exhausted';
  /** The sandbox whose isolate caused it, when the pool knows; the others only lost their pool. */
  culprit?: string;
  /** Whether the pool crashed or was killed for misbehaving (counts toward the restart backoff). */
  crashed: boolean;
}

export type PoolLog = (level: 'debug' | 'warn', msg: string, extra?: Record<string, unknown>) => void;

/** bubblewrap passes its child's end on: 134 is 128 + SIGABRT. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal}`;
  const name =
    code !== null && code > 128 ? Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  return name ? `signal ${name} / exit ${code}` : `exit ${code}`;
}

const alive = (pid: number) =>
  readFile(`/proc/${pid}/stat`, 'utf8').then(
    (s) => !/^\d+ \(.*\) Z/.test(s),
    () => false,
  );

export class PoolProcess {
  private readonly listeners = new Map<string, (e: PoolEvent) => void>();
  private readonly deathListeners = new Set<(death: PoolDeath) => void>();
  private readonly decoder = new FrameDecoder(MAX_FRAME_BYTES);
  /** The commands of one event-loop turn leave in one write (one wake-up of the pool under load). */
  private readonly writer = new FrameWriter({ write: (frames) => !this.dead && this.channel.write(frames) });
  private stderrTail = '';
  private dead: PoolDeath | undefined;
  private pings = 0;
  /** Host pids of everything inside the sandbox (found after start). */
  private inner: number[] = [];
  /** Host pid of the Node process that hosts the isolates. */
  nodePid: number | undefined;
  node = '';
  readonly startedAt = performance.now();

  private constructor(
    private readonly child: ChildProcess,
    private readonly channel: Duplex,
    private readonly log: PoolLog,
    private readonly uid: number | undefined,
  ) {
    channel.on('data', (chunk: Buffer) => this.onData(chunk));
    channel.on('error', () =>
      this.die({
        message: 'the channel to the isolate pool for this function failed; it is being restarted',
        code: 'function_crashed',
        crashed: true,
      }),
    );
    child.stderr?.on('data', (c: Buffer) => (this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4000)));
    child.once('exit', (code, signal) => this.onExit(code, signal));
    if (uid !== undefined) child.once('close', () => void this.releaseUid(uid));
  }

  /**
   * Spawns the pool inside bubblewrap and waits for its ready event. A root platform runs it as an
   * unprivileged uid of its own (the process engine's id block), dropped inside bubblewrap (uid-drop.ts):
   * host uid 0, even without capabilities, may write host-wide settings such as
   * /proc/sys/kernel/core_pattern, so an escape from V8 would have been one step from root.
   */
  static async start(bwrap: string, bundles: IsolateBundles, log: PoolLog, timeoutMs = 15_000): Promise<PoolProcess> {
    const setpriv = process.getuid?.() === 0 ? findSetpriv() : undefined;
    if (process.getuid?.() === 0 && !setpriv)
      throw new Error('setpriv is not installed; install util-linux (npm start does)');
    const uid = setpriv ? takeSandboxId() : undefined;
    const { command, args } = poolCommand(bwrap, bundles, setpriv && uid !== undefined ? { uid, setpriv } : undefined);
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
      sendFilter(child, SECCOMP_FD);
    } catch (e) {
      if (uid !== undefined) releaseSandboxId(uid);
      throw e;
    }
    const pool = new PoolProcess(child, child.stdio[3] as Duplex, log, uid);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the isolate pool did not start within ${timeoutMs} ms`)),
          timeoutMs,
        );
        pool.listeners.set('', (e) => {
          if (e.type !== 'ready') return;
          clearTimeout(timer);
          pool.node = e.node;
          resolve();
        });
        pool.onDeath((death) => {
          clearTimeout(timer);
          reject(new Error(`the isolate pool did not start: ${death.message}`));
        });
      });
    } catch (e) {
      await pool.kill('did not start');
      throw e;
    }
    pool.listeners.delete('');
    pool.inner = child.pid ? await descendants(child.pid) : [];
    pool.nodePid = pool.inner[pool.inner.length - 1];
    return pool;
  }

  /** The pool's stderr goes to the platform's log, never into a message a caller reads. */
  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const how = describeExit(code, signal);
    const stderr = this.stderrTail.trim();
    this.log(this.dead ? 'debug' : 'warn', 'isolate pool exited', {
      exit: how,
      bwrapPid: this.child.pid,
      nodePid: this.nodePid,
      ...(stderr ? { stderr } : {}),
    });
    this.die({
      message: `the isolate pool for this function crashed (${how}); it is being restarted`,
      code: 'function_crashed',
      crashed: true,
    });
  }

  /** Why the pool ended, once it has. */
  get death(): PoolDeath | undefined {
    return this.dead;
  }

  /** Resident memory of the Node process that holds the isolates, in MB (undefined once it is gone). */
  async rssMb(): Promise<number | undefined> {
    if (!this.nodePid || this.dead) return undefined;
    const statm = await readFile(`/proc/${this.nodePid}/statm`, 'utf8').catch(() => '');
    const pages = Number(statm.split(' ')[1]);
    return statm && Number.isFinite(pages) ? (pages * 4096) / (1024 * 1024) : undefined;
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Host pid of the bubblewrap process that holds the pool. */
  get bwrapPid(): number | undefined {
    return this.child.pid;
  }

  send(command: PoolCommand): void {
    if (!this.dead) this.writer.send(command);
  }

  /** Routes the events of one sandbox (or '' for pool-wide ones) to `fn`; returns the unsubscribe. */
  listen(sid: string, fn: (e: PoolEvent) => void): () => void {
    this.listeners.set(sid, fn);
    return () => {
      if (this.listeners.get(sid) === fn) this.listeners.delete(sid);
    };
  }

  /** Calls `fn` once when the pool dies; returns the unsubscribe. */
  onDeath(fn: (death: PoolDeath) => void): () => void {
    if (this.dead) {
      fn(this.dead);
      return () => undefined;
    }
    this.deathListeners.add(fn);
    return () => void this.deathListeners.delete(fn);
  }

  /** Asks the pool for a pong; a pool that does not answer within `ms` is killed. */
  checkAlive(ms: number): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    const id = `ping-${++this.pings}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.listeners.delete(id);
        void this.kill(
          `the isolate pool for this function did not answer a ping within ${ms} ms; killed with every isolate in it`,
          'function_crashed',
          true,
        );
        resolve(false);
      }, ms);
      this.listeners.set(id, () => {
        clearTimeout(timer);
        this.listeners.delete(id);
        resolve(true);
      });
      this.send({ type: PoolCommandType.Ping, id });
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.push(chunk)) {
        const e = PoolEvent.parse(JSON.parse(frame.toString('utf8')));
        if (e.type === PoolEventType.Fatal) return this.onFatal(e.sid, e.message);
        const key = 'sid' in e ? e.sid : e.type === PoolEventType.Pong ? e.id : '';
        this.listeners.get(key)?.(e);
      }
    } catch (e) {
      this.log('warn', 'isolate pool sent an invalid message', { error: (e as Error).message.slice(0, 500) });
      void this.kill(
        'the isolate pool for this function sent an invalid message; it is being restarted',
        'function_crashed',
        true,
      );
    }
  }

  /** V8 gave up on one isolate (isolated-vm's onCatastrophicError): the pool aborts next; say whose it was. */
  private onFatal(sid: string, message: string): void {
    this.log('warn', 'V8 lost control of an isolate; the isolate pool aborts', { sid, message });
    const memory = /out.of.memory/i.test(message);
    void this.kill(
      memory
        ? `V8 ran out of memory in this function's isolate (${message}) and the isolate pool for this function crashed; it is being restarted`
        : `V8 lost control of this function's isolate (${message}) and the isolate pool for this function crashed; it is being restarted`,
      memory ? 'memory_exhausted' : 'function_crashed',
      true,
      sid || undefined,
    );
  }

  /** Gives the uid back once no process of the pool runs (the next pool may get it). */
  private async releaseUid(uid: number): Promise<void> {
    for (let i = 0; i < 500 && (await Promise.all(this.inner.map(alive))).some(Boolean); i++)
      await new Promise((r) => setTimeout(r, 10));
    releaseSandboxId(uid);
  }

  private die(death: PoolDeath): void {
    if (this.dead) return;
    this.dead = death;
    for (const l of [...this.deathListeners]) l(death);
    this.deathListeners.clear();
  }

  /** Kills the pool and everything in it; resolves once none of its processes runs. */
  async kill(
    reason = 'killed',
    code: PoolDeath['code'] = 'function_crashed',
    crashed = false,
    culprit?: string,
  ): Promise<void> {
    const exited =
      this.child.exitCode !== null || this.child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => this.child.once('exit', () => r()));
    this.die({ message: reason, code, crashed, culprit });
    this.child.kill('SIGKILL');
    this.channel.destroy();
    await exited;
    // --die-with-parent takes the inside down with bubblewrap (its pid-1 helper gets SIGKILL, which
    // ends the whole pid namespace, stopped processes included): wait until the kernel is done.
    for (let i = 0; i < 100 && (await Promise.all(this.inner.map(alive))).some(Boolean); i++)
      await new Promise((r) => setTimeout(r, 10));
  }
}
