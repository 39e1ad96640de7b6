// Cluster benchmark, side by side in one run: embedded nimbus (one process,
// SQLite, memory bus) vs cluster nimbus (1 front end + 2 invokers as
// processes, NATS JetStream on a private server + PostgreSQL): sync warm
// throughput and async accepted-per-second (and how fast the accepted backlog
// then ran), with cluster/embedded ratios.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PrivateNats } from '../test/cluster/nats-server.ts';
import { load, spawnNimbus, table, type LoadResult } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ADMIN = process.env.NIMBUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const HELLO = 'exports.handler = async (event) => ({ message: `Hello, ${event.name ?? "world"}!` });';

interface Row {
  sync: LoadResult;
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

async function measure(base: string): Promise<Row> {
  const put = await fetch(`${base}/v1/functions/hello`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ runtime: 'nodejs', code: HELLO, maxSandboxes: 2 }),
  });
  if (!put.ok) throw new Error(await put.text());
  const invoke = `${base}/v1/functions/hello/invoke`;
  await load(invoke, { name: 'warm-up' }, 2);
  const sync = await load(invoke, { name: 'bench' }, SECONDS);
  const async = await load(`${invoke}?async=1`, { name: 'bench' }, SECONDS);
  const accepted = async.requests;
  const started = Date.now();
  const backlog = await queuedCount(base);
  const counted = Date.now();
  for (;;) {
    const r = (await (await fetch(`${base}/v1/activations?function=hello&status=queued&limit=1`)).json()) as {
      activations: unknown[];
    };
    if (r.activations.length === 0 || Date.now() - started > 300_000) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const drainSeconds = (Date.now() - started) / 1000;
  const backlogRate = backlog / Math.max(0.001, (Date.now() - counted) / 1000);
  return { sync, async, drainSeconds, accepted, drainRate: accepted / (SECONDS + drainSeconds), backlogRate };
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
  const e = await measure(embedded.match[1] ?? '');
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
  for (const id of ['inv-1', 'inv-2']) {
    const inv = await spawnNimbus(
      ['invoker', '--invoker-id', id, '--data-dir', path.join(temp, id)],
      /invoker \S+ is running/,
      env,
    );
    children.push(inv.child);
  }
  const fe = await spawnNimbus(['serve', '--port', '0', '--data-dir', path.join(temp, 'fe')], undefined, env);
  children.push(fe.child);
  const c = await measure(fe.match[1] ?? '');

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
        'async accepted (202)/s',
        e.async.rps.toFixed(0),
        c.async.rps.toFixed(0),
        ratio(c.async.rps, e.async.rps),
        `embedded >= 5000: ${met(e.async.rps >= 5000)}; cluster >= 2000: ${met(c.async.rps >= 2000)}`,
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
        `>= 0.8: embedded ${met(e.backlogRate >= 0.8 * e.sync.rps)}, cluster ${met(c.backlogRate >= 0.8 * c.sync.rps)}`,
      ],
      [
        'errors + non-2xx',
        e.sync.errors + e.sync.non2xx + e.async.errors + e.async.non2xx,
        c.sync.errors + c.sync.non2xx + c.async.errors + c.async.non2xx,
        '',
      ],
    ]),
  );
} finally {
  for (const child of children) child.kill();
  await nats.dispose();
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await rm(temp, { recursive: true, force: true });
}
