// Memory limits of Node-based sandboxes, read from outside: the V8 heap cap a
// sandbox's memory size gives, and the resident memory of a process from /proc
// (the RSS watchdog of the process engine; the microVM engine reads QEMU's).
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

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
