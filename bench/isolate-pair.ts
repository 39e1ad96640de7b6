// The isolate peer pair alone, for quick A/B work on the isolate warm path:
// workerd (same handler, fetch worker) beside nimbus's isolate engine at
// default config, plus any extra isolate configs named in ISOLATE_PAIR_EXTRA
// (JSON object of name -> config), taking turns for BENCH_ROUNDS rounds of
// BENCH_SECONDS; prints each one's median round and its CPU per request.
// Run: scripts/node --import tsx bench/isolate-pair.ts
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cpuBetween, cpuSnapshot, perRequest, type CpuUs } from './cpu.ts';
import { load, spawnNimbus, table, type LoadResult } from './lib.ts';
import { startWorkerd } from './workerd.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EXTRA = JSON.parse(process.env.ISOLATE_PAIR_EXTRA ?? '{}') as Record<string, Record<string, unknown>>;
const HELLO = 'exports.handler = async (event) => ({ message: `Hello, ${event.name ?? "world"}!` });';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-pair-'));
const nimbus = await spawnNimbus(['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn']);
const workerd = await startWorkerd();
try {
  const base = nimbus.match[1] ?? '';
  const deploy = async (name: string, config: Record<string, unknown>) => {
    const put = await fetch(`${base}/v1/functions/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: 'nodejs', code: HELLO, engine: 'isolate', ...config }),
    });
    if (!put.ok) throw new Error(await put.text());
    return `${base}/v1/functions/${name}/invoke`;
  };
  const servers: { name: string; url: string; child: ChildProcess }[] = [
    { name: 'workerd', url: workerd.url, child: workerd.child },
    { name: 'isolate default', url: await deploy('pair-default', {}), child: nimbus.child },
  ];
  for (const [name, config] of Object.entries(EXTRA))
    servers.push({ name: `isolate ${name}`, url: await deploy(`pair-${servers.length}`, config), child: nimbus.child });
  for (const s of servers) await load(s.url, { name: 'bench' }, 2);
  const rounds = servers.map(() => [] as LoadResult[]);
  const cpu: (CpuUs | undefined)[] = servers.map(() => undefined);
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, s] of servers.entries()) {
      const before = cpuSnapshot(s.child.pid ?? 0);
      rounds[i]!.push(await load(s.url, { name: 'bench' }, SECONDS));
      cpu[i] = cpuBetween(before, cpuSnapshot(s.child.pid ?? 0), cpu[i]);
    }
  const median = (i: number) => [...rounds[i]!].sort((a, b) => a.rps - b.rps)[Math.floor(ROUNDS / 2)]!;
  console.log(
    table([
      ['server', 'req/s', 'rounds', 'vs workerd', 'errors', 'server us/req', 'children us/req'],
      ...servers.map((s, i) => {
        const c = perRequest(
          cpu[i]!,
          rounds[i]!.reduce((n, r) => n + r.requests, 0),
        );
        const rps = rounds[i]!.map((r) => r.rps.toFixed(0)).join(' ');
        const errors = rounds[i]!.reduce((n, r) => n + r.errors + r.non2xx, 0);
        return [
          s.name,
          median(i).rps.toFixed(0),
          rps,
          (median(i).rps / median(0).rps).toFixed(2),
          errors,
          c.serverUs,
          c.descendantsUs,
        ];
      }),
    ]),
  );
} finally {
  nimbus.child.kill();
  await workerd.stop();
  await rm(dataDir, { recursive: true, force: true });
}
