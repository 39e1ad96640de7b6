// The process engine: each sandbox is a child Node process running the guest
// agent, in its own process group, with V8's heap capped and an RSS watchdog.
// No isolation from the host beyond that: for development, as DESIGN.md says.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { AgentSandbox, type AgentProcess } from '../agent-sandbox.ts';
import type { DriverContext, Sandbox, SandboxDriver, SandboxSpec, DriverCapabilities } from '../driver.ts';

const INIT_TIMEOUT_MS = 10_000;

export function heapLimitMb(memoryMb: number): number {
  return Math.max(16, Math.floor(memoryMb * 0.85));
}

export async function rssOfPid(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class ProcessDriver implements SandboxDriver {
  readonly kind = 'process' as const;
  readonly capabilities: DriverCapabilities = {
    resize: 'a process sandbox cannot change its V8 heap limit while running',
    snapshot: 'the process engine has no snapshot mechanism',
    migrate: 'the process engine has no migration mechanism',
    filesystemIsolation: 'the process engine runs functions as host processes: they can read what the platform user can read',
    networkIsolation: 'the process engine runs functions as host processes on the host network',
  };

  constructor(private readonly ctx: DriverContext) {}

  async probe() {
    return { available: true, reason: `child processes of ${process.execPath} (${process.version}); no isolation, for development` };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapLimitMb(spec.memoryMb)}`, this.ctx.agentPath], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
      env: { NIMBUS_AGENT_CHANNEL: 'fd:3', PATH: process.env.PATH ?? '/usr/bin:/bin', ...spec.env },
    });
    const exited = once(child, 'exit').then(([code, signal]) => (signal ? `signal ${signal}` : `exit code ${code}`));
    const pid = child.pid;
    const proc: AgentProcess = {
      channel: child.stdio[3] as Duplex,
      stderr: child.stderr ?? undefined,
      exited,
      details: { pid },
      memoryMb: () => (pid ? rssOfPid(pid) : Promise.resolve(undefined)),
      kill: async () => {
        if (pid && child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await exited;
        }
      },
    };
    return AgentSandbox.start('process', spec, proc, INIT_TIMEOUT_MS);
  }

  async dispose(): Promise<void> {}
}
