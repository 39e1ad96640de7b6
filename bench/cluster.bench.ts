// Cluster benchmark, side by side in one run: embedded nimbus (one process,
// SQLite, memory bus) vs cluster nimbus (1 front end + 2 invokers as
// processes, NATS JetStream on a private server + PostgreSQL): sync warm
// throughput and async accepted-per-second (and how fast the accepted backlog
// then ran), with cluster/embedded ratios. Then the floor of each shape, the
// same path with none of nimbus's work (relay-floor.mjs behind fastify;
// cluster-floor.mjs: NATS request/reply to two invokers, records in
// PostgreSQL; async-floor.mjs: accepts stored in PostgreSQL and JetStream, run
// by two invokers from a pull consumer): how far a cluster of this shape can go
// on this machine at all.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PrivateNats } from '../test/cluster/nats-server.ts';
import { cpuByRole } from './cpu.ts';
import { load, spawnNimbus, spawnServer, table, type LoadResult } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ADMIN = process.env.NIMBUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const HELLO = 'exports.handler = async (event) => ({ message: `Hello, ${event.name ?? "world"}!` });';

interface Row {
  sync: LoadResult;
  /** CPU microseconds per sync call, by role (cpu.ts: cpuByRole). */
  cpu: Record<string, number>;
  /** CPU microseconds per async call (its accept and its run, over the load and the drain), by role. */
  asyncCpu: Record<string, number>;
  async: LoadResult;
  drainSeconds: number;
  accepted: number;
  /** Async calls run per second, from the first accept to the end of the backlog (load and drain). */
  drainRate: number;
  /** Async calls run per second after the load: the backlog left at its end over the time it took to drain. */
  backlogRate: number;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

/** Records of hello still queued (pages of 1000 by creation time, at most 50 pages). */
async function queuedCount(base: string): Promise<number> {
  const seen = new Set<string>();
  let before = '';
  for (let page = 0; page < 50; page++) {
    const url = `${base}/v1/activations?function=hello&status=queued&limit=1000${before ? `&before=${before}` : ''}`;
    const r = (await (await fetch(url)).json()) as { activations: { id: string; createdAt: string }[] };
    for (const a of r.activations) seen.add(a.id);
    const last = r.activations.at(-1);
    if (r.activations.length < 1000 || !last) break;
    before = encodeURIComponent(last.createdAt);
  }
  return seen.size;
}

async function deploy(base: string): Promise<void> {
  const put = await fetch(`${base}/v1/functions/hello`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ runtime: 'nodejs', code: HELLO, maxSandboxes: 2 }),
  });
  if (!put.ok) throw new Error(await put.text());
}

/** Waits until no call of hello is queued (at most 300 s). */
async function drained(base: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 300_000;) {
    const r = (await (await fetch(`${base}/v1/activations?function=hello&status=queued&limit=1`)).json()) as {
      activations: unknown[];
    };
    if (r.activations.length === 0) return;
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** CPU microseconds per call by role, between two cpuByRole readings (ms) over `calls` calls. */
const perCall = (from: Record<string, number>, to: Record<string, number>, calls: number) =>
  Object.fromEntries(Object.keys(to).map((k) => [k, ((to[k]! - (from[k] ?? 0)) * 1000) / Math.max(1, calls)]));

async function measure(base: string, roots: [string, number][]): Promise<Row> {
  await deploy(base);
  const invoke = `${base}/v1/functions/hello/invoke`;
  await load(invoke, { name: 'warm-up' }, 2);
  const before = cpuByRole(roots);
  const sync = await load(invoke, { name: 'bench' }, SECONDS);
  const after = cpuByRole(roots);
  const cpu = perCall(before, after, sync.requests);
  const asyncBefore = cpuByRole(roots);
  const async = await load(`${invoke}?async=1`, { name: 'bench' }, SECONDS);
  const accepted = async.requests;
  const started = Date.now();
  const backlog = await queuedCount(base);
  const counted = Date.now();
  await drained(base);
  const asyncCpu = perCall(asyncBefore, cpuByRole(roots), accepted);
  const drainSeconds = (Date.now() - started) / 1000;
  const backlogRate = backlog / Math.max(0.001, (Date.now() - counted) / 1000);
  const drainRate = accepted / (SECONDS + drainSeconds);
  return { sync, cpu, asyncCpu, async, drainSeconds, accepted, drainRate, backlogRate };
}

/**
 * How a backlog drains once every invoker runs: `pending` counts what is left
 * (a count in the store, not pages of the API, so the watching costs little).
 * The whole drain from now to empty, and its steady part (from 2.5 s on, past
 * the invokers' first cold starts, to 85 % done, before the last few calls
 * leave invokers idle) with the CPU of each run of that part, by role.
 */
async function drainOf(pending: () => Promise<number>, roots: [string, number][]) {
  let n = await pending();
  const at = () => ({ t: Date.now(), n, cpu: cpuByRole(roots) });
  const from = at();
  let steadyFrom: typeof from | undefined;
  let steadyTo: typeof from | undefined;
  while (n > 0 && Date.now() - from.t < 300_000) {
    await new Promise((r) => setTimeout(r, 250));
    n = await pending();
    if (!steadyFrom && Date.now() - from.t >= 2500) steadyFrom = at();
    if (steadyFrom && !steadyTo && n <= from.n * 0.15) steadyTo = at();
  }
  const end = at();
  const whole = from.n / Math.max(0.001, (end.t - from.t) / 1000);
  const [a, b] = steadyFrom && steadyTo && steadyTo.n < steadyFrom.n ? [steadyFrom, steadyTo] : [from, end];
  return {
    whole,
    steady: (a.n - b.n) / Math.max(0.001, (b.t - a.t) / 1000),
    runCpu: perCall(a.cpu, b.cpu, a.n - b.n),
  };
}

/**
 * The async floor (async-floor.mjs): its accepts with no invoker running, then
 * the drain of that backlog by two invokers and the CPU of those runs, then its
 * accepts with the invokers running beside them.
 */
async function asyncFloor(env: Record<string, string>, children: { kill(): unknown }[]) {
  const script = path.join(import.meta.dirname, 'async-floor.mjs');
  const front = await spawnServer(process.execPath, [script], /listening (\d+)/, env);
  children.push(front.child);
  const url = `http://127.0.0.1:${front.match[1]}/v1/functions/hello/invoke`;
  const acceptOnly = await load(url, { name: 'bench' }, SECONDS);
  const db = new pg.Client({ connectionString: env.PG_URL });
  await db.connect();
  const pending = async () =>
    Number((await db.query(`SELECT count(*) AS n FROM floor_queue WHERE state = 'pending'`)).rows[0].n);
  const roots: [string, number][] = [['front end', front.child.pid ?? 0]];
  for (let n = 0; n < 2; n++) {
    const inv = await spawnServer(process.execPath, [script, 'invoker'], /invoker ready/, env);
    children.push(inv.child);
    roots.push(['invokers', inv.child.pid ?? 0]);
  }
  const drain = await drainOf(pending, roots);
  const accepts = await load(url, { name: 'bench' }, SECONDS);
  await db.end();
  for (const child of children) child.kill();
  return { acceptOnly, drain, accepts };
}

const temp = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-cluster-'));
const children: { kill(): unknown }[] = [];
const dbName = `nimbus_bench_${randomBytes(4).toString('hex')}`;
const nats = await PrivateNats.start();
try {
  const embedded = await spawnNimbus([
    'serve',
    '--port',
    '0',
    '--data-dir',
    path.join(temp, 'embedded'),
    '--log-level',
    'warn',
  ]);
  children.push(embedded.child);
  const e = await measure(embedded.match[1] ?? '', [['nimbus (front end, invoker)', embedded.child.pid ?? 0]]);
  embedded.child.kill();

  await admin(`CREATE DATABASE ${dbName}`);
  const store = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
  // Cluster mode requires the secrets' master key, the same on every node.
  const env = {
    NIMBUS_BUS: nats.url({ namespace: 'bench' }),
    NIMBUS_STORE: store,
    NIMBUS_LOG_LEVEL: 'warn',
    NIMBUS_MASTER_KEY: randomBytes(32).toString('base64'),
  };
  const fe = await spawnNimbus(['serve', '--port', '0', '--data-dir', path.join(temp, 'fe')], undefined, env);
  children.push(fe.child);
  const feBase = fe.match[1] ?? '';
  // Accepts alone, before any invoker runs: what the front end, NATS and PostgreSQL
  // take in when they do not share the 2 cores with the invokers running the backlog.
  await deploy(feBase);
  const acceptOnly = await load(`${feBase}/v1/functions/hello/invoke?async=1`, { name: 'bench' }, SECONDS);
  const roots: [string, number][] = [['front end', fe.child.pid ?? 0]];
  // Then the backlog those accepts left is drained by the invokers, with no new calls coming in.
  for (const id of ['inv-1', 'inv-2']) {
    const inv = await spawnNimbus(
      ['invoker', '--invoker-id', id, '--data-dir', path.join(temp, id)],
      /invoker \S+ is running/,
      env,
    );
    children.push(inv.child);
    roots.push(['invokers', inv.child.pid ?? 0]);
  }
  // The runs alone: the backlog those accepts left, drained once both invokers run, nothing else coming in.
  const db = new pg.Client({ connectionString: store });
  await db.connect();
  const alone = await drainOf(
    async () => Number((await db.query(`SELECT count(*) AS n FROM async_queue WHERE state = 'pending'`)).rows[0].n),
    roots,
  );
  await db.end();
  const c = await measure(feBase, roots);
  for (const child of children) child.kill();

  // The floors of both shapes, nimbus's own work taken out (relay-floor.mjs, cluster-floor.mjs).
  const floor = async (script: string, floorEnv: Record<string, string>) => {
    const { child, match } = await spawnServer(
      process.execPath,
      [path.join(import.meta.dirname, script)],
      /listening (\d+)/,
      floorEnv,
    );
    children.push(child);
    const url = `http://127.0.0.1:${match[1]}/v1/functions/hello/invoke`;
    await load(url, { name: 'warm-up' }, 2);
    const result = await load(url, { name: 'bench' }, SECONDS);
    child.kill();
    return result;
  };
  const stackFloor = await floor('relay-floor.mjs', { RELAY_FRONT: 'fastify' });
  const clusterFloor = await floor('cluster-floor.mjs', { NATS_URL: nats.url(), PG_URL: store });
  const af = await asyncFloor({ NATS_URL: nats.url(), PG_URL: store }, children);

  const met = (ok: boolean) => (ok ? 'met' : 'not met');
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  console.log(
    `\nEmbedded vs cluster (1 front end + 2 invokers), ${SECONDS} s per load, 16 connections, one machine (${os.cpus().length} cores)`,
  );
  console.log(
    `JetStream: file storage, ${nats.syncAlways ? 'sync_interval: always (fsync before every ack)' : 'this nats-server has no sync_interval setting (pre-2.10): its default flushing'}\n`,
  );
  console.log(
    table([
      ['measure', 'embedded', 'cluster', 'cluster/embedded', 'target (issue 20)'],
      [
        'sync warm invoke, req/s',
        e.sync.rps.toFixed(0),
        c.sync.rps.toFixed(0),
        ratio(c.sync.rps, e.sync.rps),
        `cluster/embedded >= 0.5: ${c.sync.rps >= 0.5 * e.sync.rps ? 'met' : 'not met'}`,
      ],
      [
        'sync warm invoke, p50 ms',
        e.sync.p50,
        c.sync.p50,
        ratio(c.sync.p50, e.sync.p50),
        `cluster <= 3 ms: ${c.sync.p50 <= 3 ? 'met' : 'not met'}`,
      ],
      ['sync warm invoke, p99 ms', e.sync.p99, c.sync.p99, ratio(c.sync.p99, e.sync.p99), ''],
      [
        'sync, floor of each shape (no platform work), req/s',
        stackFloor.rps.toFixed(0),
        clusterFloor.rps.toFixed(0),
        ratio(clusterFloor.rps, stackFloor.rps),
        `cluster floor / embedded nimbus: ${ratio(clusterFloor.rps, e.sync.rps)}`,
      ],
      ['sync, nimbus / its floor', ratio(e.sync.rps, stackFloor.rps), ratio(c.sync.rps, clusterFloor.rps), '', ''],
      [
        'async accepted (202)/s',
        e.async.rps.toFixed(0),
        c.async.rps.toFixed(0),
        ratio(c.async.rps, e.async.rps),
        `embedded >= 5000: ${met(e.async.rps >= 5000)}; cluster >= 2000: ${met(c.async.rps >= 2000)}`,
      ],
      [
        'async accepted (202)/s, no invoker running',
        '',
        acceptOnly.rps.toFixed(0),
        '',
        `cluster >= 2000 with the backlog run elsewhere: ${met(acceptOnly.rps >= 2000)}`,
      ],
      ['async accept p99 ms', e.async.p99, c.async.p99, ratio(c.async.p99, e.async.p99), ''],
      [
        'async backlog drained after load, s',
        e.drainSeconds.toFixed(1),
        c.drainSeconds.toFixed(1),
        ratio(c.drainSeconds, e.drainSeconds),
        '',
      ],
      [
        'async run, activations/s (accepted / (load + drain))',
        e.drainRate.toFixed(0),
        c.drainRate.toFixed(0),
        ratio(c.drainRate, e.drainRate),
        '',
      ],
      [
        'async backlog drain after load, activations/s',
        e.backlogRate.toFixed(0),
        c.backlogRate.toFixed(0),
        ratio(c.backlogRate, e.backlogRate),
        '',
      ],
      [
        'async backlog drain / sync req/s',
        ratio(e.backlogRate, e.sync.rps),
        ratio(c.backlogRate, c.sync.rps),
        '',
        `>= 0.8: embedded ${met(e.backlogRate >= 0.8 * e.sync.rps)}`,
      ],
      [
        'the no-invoker backlog, drained once both invokers run, /s: whole / steady',
        '',
        `${alone.whole.toFixed(0)} / ${alone.steady.toFixed(0)}`,
        '',
        `steady ${ratio(alone.steady, c.sync.rps)} x sync (the 0.8 is set for embedded; here for comparison): ${met(alone.steady >= 0.8 * c.sync.rps)}`,
      ],
      [
        'async floor (no platform work): accepted/s, no invoker / invokers running',
        '',
        `${af.acceptOnly.rps.toFixed(0)} / ${af.accepts.rps.toFixed(0)}`,
        '',
        `nimbus / floor: ${ratio(acceptOnly.rps, af.acceptOnly.rps)} / ${ratio(c.async.rps, af.accepts.rps)}`,
      ],
      [
        'async floor: its backlog drained once both invokers run, /s: whole / steady',
        '',
        `${af.drain.whole.toFixed(0)} / ${af.drain.steady.toFixed(0)}`,
        '',
        `steady ${ratio(af.drain.steady, c.sync.rps)} x nimbus sync; nimbus / floor: ${ratio(alone.steady, af.drain.steady)}`,
      ],
      [
        'errors + non-2xx',
        e.sync.errors + e.sync.non2xx + e.async.errors + e.async.non2xx,
        c.sync.errors + c.sync.non2xx + c.async.errors + c.async.non2xx,
        '',
      ],
    ]),
  );
  // Where each sync call's CPU went: on 2 shared cores, the sum bounds req/s (2,000,000 us / sum).
  // An async call's accept and run share the cores too: 2,000,000 us / its sum bounds the calls accepted
  // and run per second on this machine (the "max/s" row).
  const roles = [...new Set([...Object.keys(e.cpu), ...Object.keys(c.cpu), ...Object.keys(af.drain.runCpu)])];
  const us = (v: number | undefined) => (v === undefined ? '' : v.toFixed(0));
  const sum = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);
  const bound = (cpu: Record<string, number>) => ((os.cpus().length * 1e6) / sum(cpu)).toFixed(0);
  const all = (cpu: Record<string, number>) => us(sum(cpu));
  console.log('\nCPU per call, us (all processes on the machine in each role; async: accept and run)\n');
  console.log(
    table([
      [
        'role',
        'embedded sync',
        'cluster sync',
        'embedded async',
        'cluster async',
        'cluster async run alone (steady)',
        'async floor run alone (steady)',
      ],
      ...roles.map((r) => [
        r,
        us(e.cpu[r]),
        us(c.cpu[r]),
        us(e.asyncCpu[r]),
        us(c.asyncCpu[r]),
        us(alone.runCpu[r]),
        us(af.drain.runCpu[r]),
      ]),
      ...[['all', all] as const, ['max/s on these cores', bound] as const].map(([name, f]) => [
        name,
        ...[e.cpu, c.cpu, e.asyncCpu, c.asyncCpu, alone.runCpu, af.drain.runCpu].map((cpu) => f(cpu).toString()),
      ]),
    ]),
  );
} finally {
  for (const child of children) child.kill();
  await nats.dispose();
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await rm(temp, { recursive: true, force: true });
}
