// A nimbus process for cluster tests (`node --import tsx src/cli/main.ts …`):
// started, awaited until it prints that it is running, its output kept in a
// string for failure messages, killed by its own pid (SIGKILL for a crash,
// SIGTERM for a clean stop).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export class NodeProcess {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns `nimbus <args>` and waits (up to `timeoutMs`) for a line matching `ready`; returns its match. */
  static async start(
    name: string,
    args: string[],
    env: Record<string, string>,
    ready: RegExp,
    timeoutMs = 30_000,
  ): Promise<{ proc: NodeProcess; match: RegExpMatchArray }> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, NIMBUS_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new NodeProcess(name, child);
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not start in ${timeoutMs} ms:\n${proc.output.slice(-3000)}`)),
        timeoutMs,
      );
      const check = () => {
        const m = proc.output.match(ready);
        if (m) (clearTimeout(timer), resolve(m));
      };
      child.stdout?.on('data', check);
      void proc.exited.then(
        (code) => (
          clearTimeout(timer),
          reject(new Error(`${name} exited (${code}) before it was ready:\n${proc.output.slice(-3000)}`))
        ),
      );
    });
    return { proc, match };
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL', waitMs = 20_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((r) => (timer = setTimeout(r, waitMs)));
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}
