// Starts and talks to the isolate pool process (bubblewrap → Node running the
// pool bundle): framed, validated events routed by sandbox id, a liveness
// check that kills a pool which stops answering, and a kill that waits until
// every process of the pool is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../../guest/protocol.ts';
import { PoolEvent, type PoolCommand } from '../../guest/isolate-protocol.ts';
import type { IsolateBundles } from './bundle.ts';
import { poolCommand } from './bwrap.ts';

const MAX_FRAME_BYTES = 256 * 1024 * 1024;

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** Host pids of the pool's processes below bubblewrap (its pid-1 helper and the Node pool). */
async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (let level = [pid]; level.length; ) {
    const next = (await Promise.all(level.map(childrenOf))).flat();
    out.push(...next);
    level = next;
  }
  return out;
}

const alive = (pid: number) => readFile(`/proc/${pid}/stat`, 'utf8').then((s) => !/^\d+ \(.*\) Z/.test(s), () => false);

export class PoolProcess {
  private readonly listeners = new Map<string, (e: PoolEvent) => void>();
  private readonly deathListeners = new Set<(reason: string) => void>();
  private readonly decoder = new FrameDecoder(MAX_FRAME_BYTES);
  private stderrTail = '';
  private dead: string | undefined;
  private pings = 0;
  /** Host pids of everything inside the sandbox (found after start). */
  private inner: number[] = [];
  /** Host pid of the Node process that hosts the isolates. */
  nodePid: number | undefined;
  node = '';
  readonly startedAt = performance.now();

  private constructor(private readonly child: ChildProcess, private readonly channel: Duplex) {
    channel.on('data', (chunk: Buffer) => this.onData(chunk));
    channel.on('error', () => this.die('the pool channel failed'));
    child.stderr?.on('data', (c: Buffer) => (this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-2000)));
    child.once('exit', (code, signal) => this.die(`the isolate pool exited (${signal ?? `code ${code}`})${this.stderr()}`));
  }

  /** Spawns the pool inside bubblewrap and waits for its ready event. */
  static async start(bwrap: string, bundles: IsolateBundles, timeoutMs = 15_000): Promise<PoolProcess> {
    const { command, args } = poolCommand(bwrap, bundles);
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    const pool = new PoolProcess(child, child.stdio[3] as Duplex);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the isolate pool did not start within ${timeoutMs} ms${pool.stderr()}`)), timeoutMs);
        pool.listeners.set('', (e) => {
          if (e.type !== 'ready') return;
          clearTimeout(timer);
          pool.node = e.node;
          resolve();
        });
        pool.onDeath((reason) => {
          clearTimeout(timer);
          reject(new Error(reason));
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

  private stderr(): string {
    const tail = this.stderrTail.trim();
    return tail ? `: ${tail.slice(-500)}` : '';
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Host pid of the bubblewrap process that holds the pool. */
  get bwrapPid(): number | undefined {
    return this.child.pid;
  }

  send(command: PoolCommand): void {
    if (!this.dead) this.channel.write(encodeFrame(command));
  }

  /** Routes the events of one sandbox (or '' for pool-wide ones) to `fn`; returns the unsubscribe. */
  listen(sid: string, fn: (e: PoolEvent) => void): () => void {
    this.listeners.set(sid, fn);
    return () => {
      if (this.listeners.get(sid) === fn) this.listeners.delete(sid);
    };
  }

  /** Calls `fn` once when the pool dies; returns the unsubscribe. */
  onDeath(fn: (reason: string) => void): () => void {
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
        void this.kill(`the isolate pool did not answer a ping within ${ms} ms; killed with every isolate in it`);
        resolve(false);
      }, ms);
      this.listeners.set(id, () => {
        clearTimeout(timer);
        this.listeners.delete(id);
        resolve(true);
      });
      this.send({ type: 'ping', id });
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.push(chunk)) {
        const e = PoolEvent.parse(JSON.parse(frame.toString('utf8')));
        const key = 'sid' in e ? e.sid : e.type === 'pong' ? e.id : '';
        this.listeners.get(key)?.(e);
      }
    } catch (e) {
      void this.kill(`the pool sent an invalid message: ${(e as Error).message.slice(0, 200)}`);
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    for (const l of [...this.deathListeners]) l(reason);
    this.deathListeners.clear();
  }

  /** Kills the pool and everything in it; resolves once none of its processes runs. */
  async kill(reason = 'killed'): Promise<void> {
    const exited = this.child.exitCode !== null || this.child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => this.child.once('exit', () => r()));
    this.die(reason);
    this.child.kill('SIGKILL');
    this.channel.destroy();
    await exited;
    // --die-with-parent takes the inside down with bubblewrap (its pid-1 helper gets SIGKILL, which
    // ends the whole pid namespace, stopped processes included): wait until the kernel is done.
    for (let i = 0; i < 100 && (await Promise.all(this.inner.map(alive))).some(Boolean); i++) await new Promise((r) => setTimeout(r, 10));
  }
}
