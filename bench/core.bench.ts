// Core benchmark, side by side in one run: a bare node:http server running the
// hello handler inline, fastify running it inline (the framework's own cost),
// the bare server relaying each request to a child process (the floor for any
// engine that runs functions in another process), fastify doing the same (that
// floor on nimbus's own stack, before the platform does anything),
// and nimbus warm invoke through the full HTTP path (front end, scheduler,
// bus, invoker, process sandbox; BENCH_CONCURRENCY calls per sandbox, default
// 8) → throughput ratios, p50/p99, and the CPU each spends per request (server,
// its children, the load generator) against what 0.5 x bare leaves; then
// nimbus with `records: "errors"` (the same function, no record stored for its
// successes) and the isolate peer pair: workerd serving the same handler as a
// fetch worker beside nimbus's isolate engine, both at default config; then
// process-engine cold starts (sandbox deleted before each call). The servers
// take turns, BENCH_ROUNDS rounds of BENCH_SECONDS each, and each is reported
// by its median round: one round alone varies by up to a tenth on this machine.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuBetween, cpuSnapshot, perRequest, type CpuUs } from './cpu.ts';
import { load, percentile, spawnNimbus, spawnServer, table, type LoadResult } from './lib.ts';
import { startWorkerd, type Workerd } from './workerd.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 40);
const root = path.resolve(import.meta.dirname, '..');
const HELLO = 'exports.handler = async (event) => ({ message: `Hello, ${event.name ?? "world"}!` });';

const INVOKE_PATH = '/v1/functions/hello/invoke';
/** The reference servers, each run side by side with nimbus (scripts in bench/). */
const REFERENCES = [
  { key: 'bare', name: 'bare node:http', cpuName: 'bare node:http', script: 'bare-server.mjs', path: '/', env: {} },
  {
    key: 'fastify',
    name: 'fastify, handler inline',
    cpuName: 'fastify inline',
    script: 'fastify-inline.mjs',
    path: INVOKE_PATH,
    env: {},
  },
  {
    key: 'floor',
    name: 'relay to a child process (floor)',
    cpuName: 'relay (floor)',
    script: 'relay-floor.mjs',
    path: '/',
    env: {},
  },
  {
    key: 'stack',
    name: 'fastify relaying to a child process (stack floor)',
    cpuName: 'fastify relay (stack floor)',
    script: 'relay-floor.mjs',
    path: INVOKE_PATH,
    env: { RELAY_FRONT: 'fastify' },
  },
] as const;
type ServerKey = (typeof REFERENCES)[number]['key'] | 'nimbus' | 'nimbusErrors' | 'workerd' | 'isolate';
interface Server {
  key: ServerKey;
  name: string;
  cpuName: string;
  url: string;
  child: ChildProcess;
}

const servers: Server[] = [];
let workerd: Workerd | undefined;
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-'));
try {
  for (const r of REFERENCES) {
    const { child, match } = await spawnServer(
      process.execPath,
      [path.join(root, 'bench', r.script)],
      /listening (\d+)/,
      r.env,
    );
    servers.push({ ...r, url: `http://127.0.0.1:${match[1]}${r.path}`, child });
  }
  const nimbus = await spawnNimbus(['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn']);
  const base = nimbus.match[1] ?? '';
  const invokeUrl = `${base}${INVOKE_PATH}`;
  /** Deploys the hello handler under `name` with this config (beyond runtime and code). */
  const deploy = async (name: string, config: Record<string, unknown>) => {
    const put = await fetch(`${base}/v1/functions/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: 'nodejs', code: HELLO, ...config }),
    });
    if (!put.ok) throw new Error(await put.text());
    return `${base}/v1/functions/${name}/invoke`;
  };
  const processConfig = { maxSandboxes: 2, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8) };
  servers.push({
    key: 'nimbus',
    name: 'nimbus warm invoke',
    cpuName: 'nimbus warm invoke',
    url: await deploy('hello', processConfig),
    child: nimbus.child,
  });
  servers.push({
    key: 'nimbusErrors',
    name: 'nimbus warm invoke, records: "errors"',
    cpuName: 'nimbus, records errors',
    url: await deploy('hello-errors', { ...processConfig, records: 'errors' }),
    child: nimbus.child,
  });
  // workerd ships binaries for a few platforms only: elsewhere the table goes without its row.
  workerd = await startWorkerd().catch((e: Error) => {
    console.log(`workerd row left out: ${e.message}`);
    return undefined;
  });
  if (workerd)
    servers.push({
      key: 'workerd',
      name: 'workerd fetch worker (default config)',
      cpuName: 'workerd',
      url: workerd.url,
      child: workerd.child,
    });
  servers.push({
    key: 'isolate',
    name: 'nimbus isolate engine (default config)',
    cpuName: 'nimbus isolate',
    url: await deploy('hello-isolate', { engine: 'isolate' }),
    child: nimbus.child,
  });
  for (const s of servers) await load(s.url, { name: 'bench' }, 2);
  const rounds = new Map<ServerKey, LoadResult[]>(servers.map((s) => [s.key, []]));
  /** CPU per server, summed over its own rounds only (the others ran between them). */
  const cpuUsed = new Map<ServerKey, CpuUs>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) {
      const before = cpuSnapshot(s.child.pid ?? 0);
      rounds.get(s.key)!.push(await load(s.url, { name: 'bench' }, SECONDS));
      cpuUsed.set(s.key, cpuBetween(before, cpuSnapshot(s.child.pid ?? 0), cpuUsed.get(s.key)));
    }
  }
  const cpuOf = (key: ServerKey): CpuUs =>
    perRequest(
      cpuUsed.get(key)!,
      rounds.get(key)!.reduce((n, r) => n + r.requests, 0),
    );
  /** The round with the median throughput. */
  const runOf = (key: ServerKey): LoadResult => {
    const sorted = [...rounds.get(key)!].sort((a, b) => a.rps - b.rps);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const rangeOf = (key: ServerKey) => {
    const rps = rounds.get(key)!.map((r) => r.rps);
    return `${Math.min(...rps).toFixed(0)}-${Math.max(...rps).toFixed(0)}`;
  };
  const ratio = (label: string, of: ServerKey, to: ServerKey) => [
    `ratio ${label}`,
    rounds.has(of) && rounds.has(to) ? (runOf(of).rps / runOf(to).rps).toFixed(2) : 'n/a',
    '',
    '',
    '',
    '',
  ];

  const inits: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const { sandboxes } = (await (await fetch(`${base}/v1/sandboxes`)).json()) as { sandboxes: { id: string }[] };
    for (const s of sandboxes) await fetch(`${base}/v1/sandboxes/${s.id}`, { method: 'DELETE' });
    await new Promise((r) => setTimeout(r, 150)); // let the stem cell refill, as between real cold starts
    const t = performance.now();
    const res = await fetch(invokeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    totals.push(performance.now() - t);
    const id = res.headers.get('x-nimbus-activation-id');
    const rec = (await (await fetch(`${base}/v1/activations/${id}`)).json()) as { initMs: number; cold: boolean };
    if (rec.cold) inits.push(rec.initMs);
  }
  console.log(
    `\nWarm throughput, ${ROUNDS} rounds of ${SECONDS} s each in turn, median round, 16 connections, same machine (${os.cpus().length} cores)\n`,
  );
  console.log(
    table([
      ['server', 'req/s', 'rounds', 'p50 ms', 'p99 ms', 'errors'],
      ...servers.map((sv) => {
        const r = runOf(sv.key);
        const errors = rounds.get(sv.key)!.reduce((n, x) => n + x.errors + x.non2xx, 0);
        return [sv.name, r.rps.toFixed(0), rangeOf(sv.key), r.p50, r.p99, errors];
      }),
      ratio('fastify/bare', 'fastify', 'bare'),
      ratio('floor/bare', 'floor', 'bare'),
      ratio('stack floor/bare', 'stack', 'bare'),
      ratio('nimbus/bare (target >= 0.5)', 'nimbus', 'bare'),
      ratio('nimbus/floor', 'nimbus', 'floor'),
      ratio('nimbus/stack floor', 'nimbus', 'stack'),
      ratio('nimbus records errors/stack floor (target >= 0.8)', 'nimbusErrors', 'stack'),
      ratio('nimbus records errors/all records', 'nimbusErrors', 'nimbus'),
      ratio('workerd/bare', 'workerd', 'bare'),
      ratio('nimbus isolate/bare', 'isolate', 'bare'),
      ratio('nimbus isolate/workerd (target >= 1.0)', 'isolate', 'workerd'),
    ]),
  );
  const cores = os.cpus().length;
  const bareRps = runOf('bare').rps;
  const budgetUs = Math.round((cores * 1e6) / (0.5 * bareRps));
  console.log(`\nCPU per request, microseconds (/proc; the load generator runs on the same ${cores} cores)\n`);
  console.log(
    table([
      ['server', 'server process', 'its children', 'load generator', 'all'],
      ...servers.map((sv) => {
        const c = cpuOf(sv.key);
        return [sv.cpuName, c.serverUs, c.descendantsUs, c.loadUs, c.totalUs];
      }),
    ]),
  );
  console.log(
    `\nAt 0.5 x bare (${Math.round(bareRps / 2)} req/s) the ${cores} cores leave ${budgetUs} us of CPU per request for all three columns; and a server's main thread can spend at most ${Math.round(2e6 / bareRps)} us.`,
  );
  console.log(`\nProcess engine cold start, ${inits.length} runs (sandbox deleted before each)\n`);
  console.log(
    table([
      ['measure', 'p50 ms', 'p99 ms'],
      ['sandbox create → ready (initMs)', percentile(inits, 50), percentile(inits, 99)],
      ['cold invoke, client round trip', percentile(totals, 50).toFixed(1), percentile(totals, 99).toFixed(1)],
    ]),
  );
} finally {
  for (const s of servers) s.child.kill();
  await workerd?.stop();
  await rm(dataDir, { recursive: true, force: true });
}
