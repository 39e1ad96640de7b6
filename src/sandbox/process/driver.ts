// The process engine: each sandbox is a child Node process running the guest
// agent, in its own process group, with V8's heap capped and an RSS watchdog.
// No isolation from the host beyond that: for development, as DESIGN.md says.
// Like OpenWhisk's prewarmed "stem cell" containers, the driver keeps one
// spawned but not yet specialised agent per recently used memory size, so a
// cold start only loads the function.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { AgentSandbox, type AgentProcess } from '../agent-sandbox.ts';
import type { DriverContext, Sandbox, SandboxDriver, SandboxSpec, DriverCapabilities } from '../driver.ts';

const INIT_TIMEOUT_MS = 10_000;
/** Memory sizes for which a stem cell is kept ready (most recently used). */
const STEM_SIZES = 2;

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

const PAGE_MB = 4096 / (1024 * 1024);

/**
 * Reads a process's resident memory from /proc/<pid>/statm through one file
 * descriptor kept open: one pread per sample, cheap enough for a watchdog.
 */
export class RssReader {
  private fd: number | undefined;
  private readonly buffer = Buffer.alloc(128);
  constructor(private readonly pid: number) {}

  read(): number | undefined {
    try {
      this.fd ??= openSync(`/proc/${this.pid}/statm`, 'r');
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      const pages = Number(this.buffer.toString('latin1', 0, n).split(' ')[1]);
      return Number.isFinite(pages) ? pages * PAGE_MB : undefined;
    } catch {
      this.close();
      return undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

interface SpawnedAgent {
  proc: AgentProcess;
  alive: () => boolean;
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
  private readonly stems = new Map<number, SpawnedAgent>();
  private disposed = false;

  constructor(private readonly ctx: DriverContext) {}

  async probe() {
    return { available: true, reason: `child processes of ${process.execPath} (${process.version}); no isolation, for development` };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const stem = this.stems.get(spec.memoryMb);
    this.stems.delete(spec.memoryMb);
    const agent = stem?.alive() ? stem : this.spawnAgent(spec.memoryMb);
    if (stem && stem !== agent) void stem.proc.kill();
    this.refill(spec.memoryMb);
    return AgentSandbox.start('process', spec, agent.proc, INIT_TIMEOUT_MS);
  }

  /** Keeps a fresh stem cell for this memory size, dropping the least recently used size. */
  private refill(memoryMb: number): void {
    if (this.disposed) return;
    this.stems.set(memoryMb, this.spawnAgent(memoryMb));
    for (const [size, stem] of this.stems) {
      if (this.stems.size <= STEM_SIZES) break;
      this.stems.delete(size);
      void stem.proc.kill();
    }
  }

  private spawnAgent(memoryMb: number): SpawnedAgent {
    // The function's env arrives with the init message; the process env stays minimal.
    const child = spawn(process.execPath, [`--max-old-space-size=${heapLimitMb(memoryMb)}`, this.ctx.agentPath], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
      env: { NIMBUS_AGENT_CHANNEL: 'fd:3', PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    // Spare and idle sandboxes must not keep the platform's event loop alive.
    child.unref();
    (child.stdio[3] as Duplex & { unref?: () => void }).unref?.();
    (child.stderr as (typeof child.stderr & { unref?: () => void }) | null)?.unref?.();
    const exited = once(child, 'exit').then(([code, signal]) => (signal ? `signal ${signal}` : `exit code ${code}`));
    const pid = child.pid;
    const alive = () => child.exitCode === null && child.signalCode === null;
    const rss = pid ? new RssReader(pid) : undefined;
    void exited.then(() => rss?.close());
    const proc: AgentProcess = {
      channel: child.stdio[3] as Duplex,
      stderr: child.stderr ?? undefined,
      exited,
      details: { pid },
      memoryMb: async () => rss?.read(),
      kill: async () => {
        if (pid && alive()) {
          child.ref(); // wait for the exit even when nothing else keeps the loop alive
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await exited;
        }
      },
    };
    return { proc, alive };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const stems = [...this.stems.values()];
    this.stems.clear();
    await Promise.all(stems.map((s) => s.proc.kill()));
  }
}
