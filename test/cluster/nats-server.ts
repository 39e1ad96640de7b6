// A private nats-server with JetStream for tests that stop and restart it:
// a free loopback port, a temporary store directory, max_payload raised, and
// `sync_interval: always` (fsync before every ack) when this nats-server
// supports the setting (2.10+; Debian 12's 2.9 does not: then it runs with
// that version's default and `syncAlways` says so).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const NATS_SERVER = process.env.NIMBUS_NATS_SERVER ?? '/usr/sbin/nats-server';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export class PrivateNats {
  private child?: ChildProcess;
  syncAlways = true;
  log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<PrivateNats> {
    const dir = await mkdtemp(path.join(tmpdir(), 'nimbus-nats-'));
    const n = new PrivateNats(await freePort(), dir);
    try {
      await n.launch();
    } catch (e) {
      if (!/sync_interval/.test(String(e))) throw e;
      n.syncAlways = false;
      await n.launch();
    }
    return n;
  }

  url(options: Record<string, string | number> = {}): string {
    const q = new URLSearchParams(Object.entries(options).map(([k, v]) => [k, String(v)])).toString();
    return `nats://127.0.0.1:${this.port}${q ? `?${q}` : ''}`;
  }

  private async launch(): Promise<void> {
    const conf = path.join(this.dir, 'nats.conf');
    const js = [`store_dir: "${path.join(this.dir, 'js')}"`, this.syncAlways ? 'sync_interval: always' : '']
      .filter(Boolean)
      .join(', ');
    await writeFile(conf, `listen: 127.0.0.1:${this.port}\nmax_payload: 8MB\njetstream { ${js} }\n`);
    const child = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not start in 10 s:\n${this.log.slice(-2000)}`)),
        10_000,
      );
      const onData = (b: Buffer) => {
        this.log += b.toString();
        if (this.log.includes('Server is ready')) (clearTimeout(timer), resolve());
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once(
        'exit',
        (code) => (clearTimeout(timer), reject(new Error(`nats-server exited (${code}): ${this.log.slice(-2000)}`))),
      );
    });
  }

  /** Stops the server (SIGTERM: clean shutdown; SIGKILL: a crash) and waits for it to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    this.log = '';
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
