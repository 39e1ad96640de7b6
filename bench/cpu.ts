// CPU time a server spends per request, read from /proc: the server process
// (all its threads) apart from its descendants (sandboxes, relay children),
// and this process (the load generator). On a machine where the load
// generator and the server share the cores, these numbers say how far a
// throughput ratio can go: every request's CPU comes out of the same budget.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function statOf(pid: number): { ppid: number; ms: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12)
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    return { ppid: Number(fields[1]), ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS, comm };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * CPU milliseconds used so far, by role: the named processes (`roots`; several may share a name) and,
 * apart, its descendants (`<name> sandboxes`), every nats-server and postgres
 * process on the machine, and this process (`load generator`).
 */
export function cpuByRole(roots: [name: string, pid: number][]): Record<string, number> {
  const stats = new Map<number, { ppid: number; ms: number; comm: string }>();
  for (const entry of readdirSync('/proc')) {
    const s = Number.isInteger(Number(entry)) ? statOf(Number(entry)) : undefined;
    if (s) stats.set(Number(entry), s);
  }
  const role = new Map<number, string>(roots.map(([name, pid]) => [pid, name]));
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, s] of stats) {
      const parent = role.get(s.ppid);
      if (role.has(p) || parent === undefined) continue;
      role.set(p, parent.endsWith(' sandboxes') ? parent : `${parent} sandboxes`);
      grew = true;
    }
  }
  const used: Record<string, number> = {};
  for (const [p, s] of stats) {
    const r = role.get(p) ?? (/^nats-server/.test(s.comm) ? 'nats-server' : /^postgres/.test(s.comm) ? 'postgres' : '');
    if (r) used[r] = (used[r] ?? 0) + s.ms;
  }
  const usage = process.cpuUsage();
  used['load generator'] = (usage.user + usage.system) / 1000;
  return used;
}

export interface CpuSnapshot {
  serverMs: number;
  descendantsMs: number;
  loadMs: number;
}

/** CPU milliseconds used so far by `pid`, by its live descendants, and by this process. */
export function cpuSnapshot(pid: number): CpuSnapshot {
  const used = cpuByRole([['server', pid]]);
  return {
    serverMs: used.server ?? 0,
    descendantsMs: used['server sandboxes'] ?? 0,
    loadMs: used['load generator'] ?? 0,
  };
}

/** CPU microseconds: the server, its descendants, the load generator, all three. */
export interface CpuUs {
  serverUs: number;
  descendantsUs: number;
  loadUs: number;
  totalUs: number;
}

const NO_CPU: CpuUs = { serverUs: 0, descendantsUs: 0, loadUs: 0, totalUs: 0 };

/** CPU used between two snapshots, added to `sum` (to add up several measured stretches). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, sum: CpuUs = NO_CPU): CpuUs {
  const serverUs = sum.serverUs + (after.serverMs - before.serverMs) * 1000;
  const descendantsUs = sum.descendantsUs + (after.descendantsMs - before.descendantsMs) * 1000;
  const loadUs = sum.loadUs + (after.loadMs - before.loadMs) * 1000;
  return { serverUs, descendantsUs, loadUs, totalUs: serverUs + descendantsUs + loadUs };
}

/** Whole microseconds of CPU per request. */
export function perRequest(used: CpuUs, requests: number): CpuUs {
  const per = (us: number) => Math.round(us / Math.max(1, requests));
  return {
    serverUs: per(used.serverUs),
    descendantsUs: per(used.descendantsUs),
    loadUs: per(used.loadUs),
    totalUs: per(used.totalUs),
  };
}
