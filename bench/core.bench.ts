// Core benchmark, side by side in one run: a bare node:http server running the
// hello handler inline, fastify running it inline (the framework's own cost),
// the bare server relaying each request to a child process (the floor for any
// engine that runs functions in another process), fastify doing the same (that
// floor on nimbus's own stack, before the platform does anything),
// and nimbus warm invoke through the full HTTP path (front end, scheduler,
// bus, invoker, process sandbox; BENCH_CONCURRENCY calls per sandbox, default
// 8) → throughput ratios, p50/p99, and the CPU each spends per request (server,
// its children, the load generator) against what 0.5 x bare leaves; then
// process-engine cold starts (sandbox deleted before each call).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuSnapshot, perRequest, type CpuPerRequest } from './cpu.ts';
import { load, percentile, spawnServer, table, type LoadResult } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 40);
const root = path.resolve(import.meta.dirname, '..');
const HELLO = 'exports.handler = async (event) => ({ message: `Hello, ${event.name ?? "world"}!` });';

const bare = await spawnServer(process.execPath, [path.join(root, 'bench/bare-server.mjs')], /listening (\d+)/);
const bareUrl = `http://127.0.0.1:${bare.match[1]}/`;
const framework = await spawnServer(process.execPath, [path.join(root, 'bench/fastify-inline.mjs')], /listening (\d+)/);
const frameworkUrl = `http://127.0.0.1:${framework.match[1]}/v1/functions/hello/invoke`;
const relay = await spawnServer(process.execPath, [path.join(root, 'bench/relay-floor.mjs')], /listening (\d+)/);
const relayUrl = `http://127.0.0.1:${relay.match[1]}/`;
const stackFloor = await spawnServer(process.execPath, [path.join(root, 'bench/relay-floor.mjs')], /listening (\d+)/, { RELAY_FRONT: 'fastify' });
const stackFloorUrl = `http://127.0.0.1:${stackFloor.match[1]}/v1/functions/hello/invoke`;
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-'));
const nimbus = await spawnServer(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], /running at (http:\S+)/);
const base = nimbus.match[1] ?? '';
try {
  const put = await fetch(`${base}/v1/functions/hello`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runtime: 'nodejs', code: HELLO, maxSandboxes: 2, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8) }) });
  if (!put.ok) throw new Error(await put.text());
  const invokeUrl = `${base}/v1/functions/hello/invoke`;
  for (const url of [bareUrl, frameworkUrl, relayUrl, stackFloorUrl, invokeUrl]) await load(url, { name: 'bench' }, 2);
  const measured = async (url: string, pid: number | undefined): Promise<[LoadResult, CpuPerRequest]> => {
    const before = cpuSnapshot(pid ?? 0);
    const run = await load(url, { name: 'bench' }, SECONDS);
    return [run, perRequest(before, cpuSnapshot(pid ?? 0), run.requests)];
  };
  const [bareRun, bareCpu] = await measured(bareUrl, bare.child.pid);
  const [frameworkRun, frameworkCpu] = await measured(frameworkUrl, framework.child.pid);
  const [relayRun, relayCpu] = await measured(relayUrl, relay.child.pid);
  const [stackRun, stackCpu] = await measured(stackFloorUrl, stackFloor.child.pid);
  const [warm, warmCpu] = await measured(invokeUrl, nimbus.child.pid);

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
  console.log(`\nWarm throughput, ${SECONDS} s each, 16 connections, same machine (${os.cpus().length} cores)\n`);
  console.log(table([
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
    ['bare node:http', bareRun.rps.toFixed(0), bareRun.p50, bareRun.p99, bareRun.errors + bareRun.non2xx],
    ['fastify, handler inline', frameworkRun.rps.toFixed(0), frameworkRun.p50, frameworkRun.p99, frameworkRun.errors + frameworkRun.non2xx],
    ['relay to a child process (floor)', relayRun.rps.toFixed(0), relayRun.p50, relayRun.p99, relayRun.errors + relayRun.non2xx],
    ['fastify relaying to a child process (stack floor)', stackRun.rps.toFixed(0), stackRun.p50, stackRun.p99, stackRun.errors + stackRun.non2xx],
    ['nimbus warm invoke', warm.rps.toFixed(0), warm.p50, warm.p99, warm.errors + warm.non2xx],
    ['ratio fastify/bare', (frameworkRun.rps / bareRun.rps).toFixed(2), '', '', ''],
    ['ratio floor/bare', (relayRun.rps / bareRun.rps).toFixed(2), '', '', ''],
    ['ratio stack floor/bare', (stackRun.rps / bareRun.rps).toFixed(2), '', '', ''],
    ['ratio nimbus/bare (target >= 0.5)', (warm.rps / bareRun.rps).toFixed(2), '', '', ''],
    ['ratio nimbus/floor', (warm.rps / relayRun.rps).toFixed(2), '', '', ''],
    ['ratio nimbus/stack floor', (warm.rps / stackRun.rps).toFixed(2), '', '', ''],
  ]));
  const cores = os.cpus().length;
  const budgetUs = Math.round((cores * 1e6) / (0.5 * bareRun.rps));
  console.log(`\nCPU per request, microseconds (/proc; the load generator runs on the same ${cores} cores)\n`);
  console.log(table([
    ['server', 'server process', 'its children', 'load generator', 'all'],
    ...([['bare node:http', bareCpu], ['fastify inline', frameworkCpu], ['relay (floor)', relayCpu], ['fastify relay (stack floor)', stackCpu], ['nimbus warm invoke', warmCpu]] as const).map(([name, c]) => [name, c.serverUs, c.descendantsUs, c.loadUs, c.totalUs]),
  ]));
  console.log(`\nAt 0.5 x bare (${Math.round(bareRun.rps / 2)} req/s) the ${cores} cores leave ${budgetUs} us of CPU per request for all three columns; and a server's main thread can spend at most ${Math.round(2e6 / bareRun.rps)} us.`);
  console.log(`\nProcess engine cold start, ${inits.length} runs (sandbox deleted before each)\n`);
  console.log(table([
    ['measure', 'p50 ms', 'p99 ms'],
    ['sandbox create → ready (initMs)', percentile(inits, 50), percentile(inits, 99)],
    ['cold invoke, client round trip', percentile(totals, 50).toFixed(1), percentile(totals, 99).toFixed(1)],
  ]));
} finally {
  bare.child.kill();
  framework.child.kill();
  relay.child.kill();
  stackFloor.child.kill();
  nimbus.child.kill();
  await rm(dataDir, { recursive: true, force: true });
}
