// For bench/engines.bench.ts: the first call after deploy with no prewarmed
// spare, and host memory per warm sandbox measured one way for every engine.
// Spares per engine: the process and container engines keep a stem cell per
// recent memory size (profile); the isolate engine keeps a function's pool
// process while it has sandboxes (and 2 s after). So each first call here is
// of a function name and a memory size never used before: no stem cell and no
// pool process can serve it (nor, on microvm, a function snapshot: it is
// made for a function version after its first load; microvm keeps its memory
// size, so the machine-state snapshot of that size is restored, then the
// function loaded). Memory: PSS (proportional set size, shared pages
// split between their users) summed over every process in this bench's
// process tree or in a kept sandbox's cgroup (containers run detached from
// runc, outside the tree), from /proc/<pid>/smaps_rollup; after keeping N warm
// sandboxes minus before, divided by N.
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Sandbox, SandboxDriver, SandboxSpec } from '../src/sandbox/driver.ts';

export interface FirstCall {
  /** create → ready, ms. */
  create: number[];
  /** create → first answer, ms. */
  firstAnswer: number[];
}

const invoke = (sb: Sandbox) =>
  sb.invoke({ activationId: randomUUID(), input: { kind: 'event', event: { name: 'bench' } }, timeoutMs: 60_000 });

/** `runs` first calls, each of a new function name and memory size; `settleMs` lets the stem refill each start triggers finish first. */
export async function firstCalls(
  driver: SandboxDriver,
  spec: (memoryMb: number, functionName: string) => SandboxSpec,
  baseMb: number,
  runs: number,
  settleMs: number,
  /** A new memory size per run (stem cells are kept per size); false for microvm, whose machine-state snapshot is per size too and is no prewarmed sandbox. */
  newSize = true,
): Promise<FirstCall> {
  const out: FirstCall = { create: [], firstAnswer: [] };
  for (let i = 0; i < runs; i++) {
    const s = spec(newSize ? baseMb + 1 + i : baseMb, `first-${i}-${randomUUID().slice(0, 6)}`);
    const t = performance.now();
    const sb = await driver.create(s);
    out.create.push(performance.now() - t);
    await invoke(sb);
    out.firstAnswer.push(performance.now() - t);
    await sb.dispose();
    // The microvm engine saves a function snapshot in the background after a first load: not on the next run's clock.
    if ('functionSnapshotsSettled' in driver && typeof driver.functionSnapshotsSettled === 'function')
      await (driver.functionSnapshotsSettled as () => Promise<void>).call(driver);
    await new Promise((r) => setTimeout(r, settleMs));
  }
  return out;
}

/** PSS of a process, kB (0 when it is gone). */
async function pssKb(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The PSS of this process's descendants and of processes whose cgroups name one of `markers` (and theirs), MB. */
export async function treePssMb(markers: string[] = []): Promise<number> {
  const parent = new Map<number, number>();
  const inSandboxCgroup = new Set<number>();
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (markers.length) {
        const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8');
        if (markers.some((m) => cgroup.includes(m))) inSandboxCgroup.add(pid);
      }
    } catch {
      // gone meanwhile
    }
  }
  const chosen = new Set<number>();
  for (const pid of parent.keys()) {
    if (inSandboxCgroup.has(pid)) chosen.add(pid);
    // This process's descendants (not itself: its own heap is the bench's), walking up to pid 1.
    for (let p = parent.get(pid), hops = 0; p && hops < parent.size; p = parent.get(p), hops++) {
      if (p === process.pid || inSandboxCgroup.has(p)) {
        chosen.add(pid);
        break;
      }
    }
  }
  let kb = 0;
  for (const pid of chosen) kb += await pssKb(pid);
  return kb / 1024;
}
