// Runs the real `nimbus` CLI as child processes: `serve` in the background
// (waiting for its "running at" line) and client verbs to completion, from
// the sources (runCli) or as the installed command bin/nimbus.mjs (runBin).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

export interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--log-level', 'warn', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nimbus serve did not start in 60 s:\n${out}`)), 60_000);
    const check = () => {
      const m = /nimbus is running at (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`nimbus serve exited with ${code}:\n${out}`)));
  });
  return {
    child,
    url,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** What a CLI run printed, and how it exited. */
export type Ran = { code: number; stdout: string; stderr: string };

export function runCli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return ran(['--import', 'tsx', MAIN, ...args], ROOT, env);
}

/** The installed command (bin/nimbus.mjs), run in `cwd` (a project folder). */
export function runBin(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return ran([path.join(ROOT, 'bin/nimbus.mjs'), ...args], cwd, env);
}

function ran(argv: string[], cwd: string, env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
