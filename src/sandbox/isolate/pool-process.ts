// Starts and talks to the isolate pool process: a Node process running the
// bundled pool (src/guest/isolate-pool.guest.ts) inside bubblewrap, with no
// network, no host files but the read-only runtime it needs, its own pid
// namespace, and death with its parent. Events are routed by sandbox id.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../../guest/protocol.ts';
import { PoolEvent, type PoolCommand } from '../../guest/isolate-protocol.ts';

export interface PoolPaths {
  poolBundle: string;
  runtimeBundle: string;
}

export function isolatedVmDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('isolated-vm/package.json'));
}

function bwrapArgs(paths: PoolPaths, ivmDir: string): string[] {
  const node = process.execPath;
  const ro = (p: string) => ['--ro-bind', p, p];
  return [
    '--unshare-all', '--die-with-parent', '--new-session', '--clearenv',
    // /tmp first: later binds may live under the host's /tmp and must stay visible.
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    ...ro('/usr'), ...ro('/lib'), '--ro-bind-try', '/lib64', '/lib64', ...ro('/bin'),
    '--ro-bind-try', node, node, ...ro(ivmDir), ...ro(paths.poolBundle), ...ro(paths.runtimeBundle),
    '--chdir', '/tmp',
    '--setenv', 'NIMBUS_AGENT_CHANNEL', 'fd:3',
    '--setenv', 'NIMBUS_IVM_PATH', ivmDir,
    '--setenv', 'NIMBUS_ISOLATE_RUNTIME', paths.runtimeBundle,
    '--', node, '--no-node-snapshot', paths.poolBundle,
  ];
}

export class PoolProcess {
  private readonly listeners = new Map<string, (e: PoolEvent) => void>();
  private readonly deathListeners: ((reason: string) => void)[] = [];
  private readonly decoder = new FrameDecoder(256 * 1024 * 1024);
  private dead: string | undefined;
  pid: number | undefined;

  private constructor(private readonly child: ChildProcess, private readonly channel: Duplex) {
    channel.on('data', (chunk: Buffer) => this.onData(chunk));
    channel.on('error', () => this.die('the pool channel failed'));
    child.once('exit', (code, signal) => this.die(`the isolate pool exited (${signal ?? `code ${code}`})`));
  }

  /** Spawns the pool and waits for its ready event. */
  static async start(paths: PoolPaths, timeoutMs = 10_000): Promise<PoolProcess> {
    const child = spawn('bwrap', bwrapArgs(paths, isolatedVmDir()), { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    const pool = new PoolProcess(child, child.stdio[3] as Duplex);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the isolate pool did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      pool.listeners.set('', (e) => {
        if (e.type !== 'ready') return;
        clearTimeout(timer);
        pool.pid = e.pid;
        resolve();
      });
      pool.onDeath((reason) => {
        clearTimeout(timer);
        reject(new Error(`${reason}: ${stderr.trim() || 'no output'}`));
      });
    });
    pool.listeners.delete('');
    return pool;
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** The host pid of the bubblewrap process that holds the pool. */
  get hostPid(): number | undefined {
    return this.child.pid;
  }

  send(command: PoolCommand): void {
    if (!this.dead) this.channel.write(encodeFrame(command));
  }

  listen(sid: string, fn: (e: PoolEvent) => void): () => void {
    this.listeners.set(sid, fn);
    return () => this.listeners.delete(sid);
  }

  onDeath(fn: (reason: string) => void): void {
    if (this.dead) fn(this.dead);
    else this.deathListeners.push(fn);
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.push(chunk)) {
        const e = PoolEvent.parse(JSON.parse(frame.toString('utf8')));
        this.listeners.get('sid' in e ? e.sid : '')?.(e);
      }
    } catch (e) {
      this.kill(`the pool sent an invalid message: ${(e as Error).message.slice(0, 200)}`);
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    for (const l of this.deathListeners.splice(0)) l(reason);
  }

  /** Kills the pool and everything in it. */
  kill(reason = 'killed'): Promise<void> {
    const exited = this.child.exitCode !== null || this.child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => this.child.once('exit', () => r()));
    this.die(reason);
    this.child.kill('SIGKILL');
    this.channel.destroy();
    return exited;
  }
}
