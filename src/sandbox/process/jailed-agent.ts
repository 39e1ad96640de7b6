// One guest agent under the process engine's wall (jail.ts): spawned as its
// sandbox's own uid, reached over fd 3, watched for memory, and killed as a
// whole. bubblewrap's first child is the init of the sandbox's pid namespace;
// killing it makes the kernel kill everything else in the namespace (detached
// and double-forked children included) before the outer bubblewrap sees it
// exit. Before the uid is handed out again, no process may run as it: the
// driver checks /proc and kills any it finds.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { AgentProcess } from '../agent-sandbox.ts';
import type { DriverContext } from '../driver.ts';
import { jailCommand, SANDBOX_SHM_BYTES, SANDBOX_TMP_BYTES } from './jail.ts';
import { SandboxCpuCgroup } from './cpu-cgroup.ts';
import { SandboxMemoryCgroup } from './memory-cgroup.ts';
import { heapLimitMb, RssReader } from './rss.ts';
import { ownerOfSandboxId, platformRuns, releaseSandboxId, takeSandboxId } from './identities.ts';
import type { RunDir } from './run-dir.ts';

export interface JailTools {
  bwrap: string;
  prlimit: string;
  nsenter: string;
  setpriv: string;
  bash: string;
}

/** The network namespace a sandbox with `network: true` joins (src/sandbox/network/). */
export interface JoinedNetwork {
  netnsPath: string;
  dns: string;
  details: Record<string, unknown>;
  close(): Promise<void>;
}

export interface JailedAgent {
  proc: AgentProcess;
  /** The sandbox's uid (and gid). */
  id: number;
  alive(): boolean;
  /** Holds the sandbox to `cpus` (a stem cell gets its function's at create); nothing when it has no CPU cgroup. */
  setCpus(cpus: number): Promise<void>;
}

/** The first child of a process, from /proc (the init of a sandbox, or the agent under that init). */
function firstChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** Host pids of live (not zombie) processes that run as `uid`. */
export async function processesOf(uid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = await stat(`/proc/${name}`).catch(() => undefined);
    if (s?.uid !== uid) continue;
    const state = await readFile(`/proc/${name}/stat`, 'latin1').then(
      (t) => t.slice(t.lastIndexOf(')') + 2, t.lastIndexOf(')') + 3),
      () => 'Z',
    );
    if (state !== 'Z') found.push(Number(name));
  }
  return found;
}

/**
 * Waits until nothing runs as `uid`. When the agent exits by itself, the
 * outer bubblewrap exits as soon as the namespace's init reports it, while
 * the kernel may still be killing the rest: they go within milliseconds.
 * Whatever is still alive after that is killed here, and said.
 */
async function sweep(uid: number, ctx: DriverContext): Promise<void> {
  for (let round = 0; round < 100; round++) {
    const left = await processesOf(uid);
    if (left.length === 0) return;
    if (round < 10) {
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    if (round === 10)
      ctx.log('warn', 'processes of a dead process sandbox still ran; killing them', { uid, pids: left });
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`processes of uid ${uid} survive SIGKILL`);
}

/**
 * The memory cgroup's limit: the function's memory plus its two tmpfs, whose
 * pages count there too. The RSS watchdog still stops the agent at memoryMb.
 */
function cgroupLimitMb(memoryMb: number): number {
  return memoryMb + (SANDBOX_TMP_BYTES + SANDBOX_SHM_BYTES) / (1024 * 1024);
}

export async function spawnJailedAgent(
  ctx: DriverContext,
  runDir: RunDir,
  tools: JailTools,
  memoryMb: number,
  cpus: number,
  network?: JoinedNetwork,
): Promise<JailedAgent> {
  const id = takeSandboxId();
  let child;
  let cgroup: SandboxMemoryCgroup | string = 'not made';
  let cpu: SandboxCpuCgroup | string = 'not made';
  try {
    const slotDir = await runDir.openSlot(id, network ? { 'resolv.conf': `nameserver ${network.dns}\n` } : {});
    cgroup = await SandboxMemoryCgroup.create(id, cgroupLimitMb(memoryMb));
    cpu = await SandboxCpuCgroup.create(id, cpus);
    const cgroupProcs = typeof cgroup === 'string' ? undefined : cgroup.procsFile;
    const cpuCgroupProcs = typeof cpu === 'string' ? undefined : cpu.procsFile;
    const netns = network ? { nsenter: tools.nsenter, path: network.netnsPath } : undefined;
    const { command, args } = jailCommand({
      ...tools,
      id,
      slotDir,
      agent: runDir.agent,
      heapMb: heapLimitMb(memoryMb),
      netns,
      cgroupProcs,
      cpuCgroupProcs,
    });
    child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: '/usr/bin:/bin' },
    });
  } catch (e) {
    await runDir.closeSlot(id).catch(() => undefined);
    if (typeof cgroup !== 'string') await cgroup.remove();
    if (typeof cpu !== 'string') await cpu.remove();
    releaseSandboxId(id);
    await network?.close();
    throw e;
  }
  const memoryCgroup = typeof cgroup === 'string' ? undefined : cgroup;
  const cpuCgroup = typeof cpu === 'string' ? undefined : cpu;
  const spawned = child;
  // Spare and idle sandboxes must not keep the platform's event loop alive.
  spawned.unref();
  (spawned.stdio[3] as Duplex & { unref?: () => void }).unref?.();
  (spawned.stderr as (typeof spawned.stderr & { unref?: () => void }) | null)?.unref?.();
  const outer = spawned.pid;
  const alive = () => outer !== undefined && spawned.exitCode === null && spawned.signalCode === null;
  const exitedOuter = new Promise<string>((resolve) => {
    spawned.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
    spawned.once('error', (e) => resolve(`could not start: ${e.message}`));
  });
  let rss: RssReader | undefined;
  let killedForMemory = false;
  // Everything is gone once the outer bubblewrap has exited and nothing runs as the uid; then the uid is free again.
  const exited = exitedOuter.then(async (how) => {
    rss?.close();
    await sweep(id, ctx).catch((e: Error) => ctx.log('error', e.message, { uid: id }));
    killedForMemory = (await memoryCgroup?.overLimit()) ?? false;
    await memoryCgroup?.remove();
    await cpuCgroup?.remove();
    await runDir.closeSlot(id).catch(() => undefined);
    await network?.close().catch(() => undefined);
    releaseSandboxId(id);
    return how;
  });
  const proc: AgentProcess = {
    channel: spawned.stdio[3] as Duplex,
    stderr: spawned.stderr ?? undefined,
    exited,
    details: {
      pid: outer,
      uid: id,
      memoryCgroup: memoryCgroup ? memoryCgroup.dir : cgroup,
      cpuCgroup: cpuCgroup ? cpuCgroup.dir : cpu,
      ...(network ? { network: network.details } : {}),
    },
    // Read before the cgroup goes: whether the kernel killed something in it for its memory.
    deathCause: async () => ((await exited, killedForMemory) ? 'memory' : undefined),
    memoryMb: async () => {
      if (!rss && outer !== undefined) {
        const init = firstChild(outer);
        const agent = init === undefined ? undefined : firstChild(init);
        if (agent !== undefined) rss = new RssReader(agent);
      }
      return rss?.read();
    },
    kill: async () => {
      if (alive() && outer !== undefined) {
        spawned.ref(); // wait for the exit even when nothing else keeps the loop alive
        const init = firstChild(outer);
        try {
          process.kill(init ?? outer, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await exited;
    },
  };
  return { proc, id, alive, setCpus: async (n) => cpuCgroup?.setCpus(n) };
}

/** Kills sandbox processes whose platform no longer runs (none should: they die with it). */
export async function killOrphans(ctx: DriverContext): Promise<void> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = await stat(`/proc/${name}`).catch(() => undefined);
    const owner = s ? ownerOfSandboxId(s.uid) : undefined;
    if (owner === undefined || owner === process.pid || platformRuns(owner)) continue;
    ctx.log('warn', 'killing a process left by a process sandbox of a platform that is gone', {
      pid: Number(name),
      uid: s?.uid,
    });
    try {
      process.kill(Number(name), 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
}
