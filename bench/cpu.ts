// CPU time a server spends per request, read from /proc: the server process
// (all its threads) apart from its descendants (sandboxes, relay children),
// and this process (the load generator). On a machine where the load
// generator and the server share the cores, these numbers say how far a
// throughput ratio can go: every request's CPU comes out of the same budget.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function statOf(pid: number): { ppid: number; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12)
    return { ppid: Number(fields[1]), ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined; // exited meanwhile
  }
}

export interface CpuSnapshot {
  serverMs: number;
  descendantsMs: number;
  loadMs: number;
}

/** CPU milliseconds used so far by `pid`, by its live descendants, and by this process. */
export function cpuSnapshot(pid: number): CpuSnapshot {
  const stats = new Map<number, { ppid: number; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    const p = Number(entry);
    const s = Number.isInteger(p) ? statOf(p) : undefined;
    if (s) stats.set(p, s);
  }
  const family = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, s] of stats) {
      if (family.has(p) || !family.has(s.ppid)) continue;
      family.add(p);
      grew = true;
    }
  }
  family.delete(pid);
  const usage = process.cpuUsage();
  return {
    serverMs: stats.get(pid)?.ms ?? 0,
    descendantsMs: [...family].reduce((sum, p) => sum + (stats.get(p)?.ms ?? 0), 0),
    loadMs: (usage.user + usage.system) / 1000,
  };
}

export interface CpuPerRequest {
  serverUs: number;
  descendantsUs: number;
  loadUs: number;
  totalUs: number;
}

/** Microseconds of CPU per request between two snapshots. */
export function perRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): CpuPerRequest {
  const us = (a: number, b: number) => Math.round(((b - a) * 1000) / Math.max(1, requests));
  const serverUs = us(before.serverMs, after.serverMs);
  const descendantsUs = us(before.descendantsMs, after.descendantsMs);
  const loadUs = us(before.loadMs, after.loadMs);
  return { serverUs, descendantsUs, loadUs, totalUs: serverUs + descendantsUs + loadUs };
}
