// The topics part of `npm run bench:events`, embedded (one process: SQLite,
// memory bus) and cluster (a front end and two invokers as processes, NATS
// JetStream on a private server, PostgreSQL) in one run: publish-to-run
// latency (from the publish request leaving the client to the subscriber's
// handler starting, one machine, one clock) with one warm subscriber and
// publishes one at a time, and fan-out (1 topic x 10 subscribers, publishes
// BENCH_TOPIC_CONCURRENCY at a time): the publish's own 202 latency,
// publish-to-run, and activations finished per second. BENCH_TOPIC_CLUSTER=0
// skips the cluster.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PrivateNats } from '../test/cluster/nats-server.ts';
import { spawnNimbus, table } from './lib.ts';

const MESSAGES = Number(process.env.BENCH_TOPIC_MESSAGES ?? 200);
const FANOUT_MESSAGES = Number(process.env.BENCH_TOPIC_FANOUT_MESSAGES ?? 100);
const CONCURRENCY = Number(process.env.BENCH_TOPIC_CONCURRENCY ?? 8);
const ENGINE = process.env.BENCH_TOPIC_ENGINE ?? 'isolate';
const CLUSTER = process.env.BENCH_TOPIC_CLUSTER !== '0';
const ADMIN = process.env.NIMBUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SUBSCRIBERS = 10;

const CODE = 'exports.handler = async () => ({ ranAt: Date.now() });';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function api(base: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Waits for activations to finish; returns each one's handler start time (ms). */
async function ranAt(base: string, ids: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const id of ids) {
    for (;;) {
      const a = await api(base, 'GET', `/v1/activations/${id}`);
      if (a.status === 'success') {
        out.push(a.result.ranAt);
        break;
      }
      if (!['queued', 'running'].includes(a.status))
        throw new Error(`activation ${id} ended ${a.status}: ${JSON.stringify(a.error)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return out;
}

async function subscribe(url: string, topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await api(url, 'PUT', `/v1/functions/${topic}-${i}`, { runtime: 'nodejs', code: CODE, engine: ENGINE });
    await api(url, 'PUT', `/v1/triggers/${topic}-${i}`, { type: 'topic', topic, function: `${topic}-${i}` });
    await api(url, 'POST', `/v1/functions/${topic}-${i}/invoke`, {}); // warm
  }
}

/** One platform's rows: latency one at a time, then fan-out. */
async function measure(url: string, mode: string): Promise<(string | number)[][]> {
  await subscribe(url, 'one', 1);
  const lat: number[] = [];
  const acks: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const t0 = Date.now();
    const r0 = performance.now();
    const { activationIds } = await api(url, 'POST', '/v1/topics/one/publish', { i });
    acks.push(performance.now() - r0);
    lat.push((await ranAt(url, activationIds))[0]! - t0);
  }
  const rows: (string | number)[][] = [
    [mode, '1 subscriber, one at a time', MESSAGES, pct(acks, 50), pct(acks, 99), pct(lat, 50), pct(lat, 99), '-'],
  ];

  await subscribe(url, 'fan', SUBSCRIBERS);
  const fanAcks: number[] = [];
  const fanLat: number[] = [];
  const started = performance.now();
  const pending: Promise<void>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < FANOUT_MESSAGES) {
      next++;
      const t0 = Date.now();
      const r0 = performance.now();
      const { activationIds } = await api(url, 'POST', '/v1/topics/fan/publish', { n: next });
      fanAcks.push(performance.now() - r0);
      pending.push(ranAt(url, activationIds).then((ts) => void fanLat.push(...ts.map((t) => t - t0))));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await Promise.all(pending);
  const perSecond = (FANOUT_MESSAGES * SUBSCRIBERS) / ((performance.now() - started) / 1000);
  rows.push([
    mode,
    `1 topic x ${SUBSCRIBERS} subscribers, ${CONCURRENCY} publishing`,
    FANOUT_MESSAGES,
    pct(fanAcks, 50),
    pct(fanAcks, 99),
    pct(fanLat, 50),
    pct(fanLat, 99),
    Math.round(perSecond),
  ]);
  return rows;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

export async function topicsBench(): Promise<{ text: string }> {
  const temp = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-topics-'));
  const children: { kill(): unknown }[] = [];
  const dbName = `nimbus_bench_${randomBytes(4).toString('hex')}`;
  const nats = CLUSTER ? await PrivateNats.start() : undefined;
  try {
    const serveArgs = (dir: string) => [
      'serve',
      '--port',
      '0',
      '--data-dir',
      path.join(temp, dir),
      '--log-level',
      'warn',
    ];
    const embedded = await spawnNimbus(serveArgs('embedded'));
    children.push(embedded.child);
    const rows = await measure(embedded.match[1] ?? '', 'embedded');
    embedded.child.kill();

    if (nats) {
      await admin(`CREATE DATABASE ${dbName}`);
      const env = {
        NIMBUS_BUS: nats.url({ namespace: 'bench' }),
        NIMBUS_STORE: Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString(),
        NIMBUS_LOG_LEVEL: 'warn',
        NIMBUS_MASTER_KEY: randomBytes(32).toString('base64'),
      };
      for (const id of ['inv-1', 'inv-2']) {
        const args = ['invoker', '--invoker-id', id, '--data-dir', path.join(temp, id)];
        children.push((await spawnNimbus(args, /invoker \S+ is running/, env)).child);
      }
      const fe = await spawnNimbus(serveArgs('fe'), undefined, env);
      children.push(fe.child);
      rows.push(...(await measure(fe.match[1] ?? '', 'cluster')));
    }
    const header = [
      'mode',
      'case',
      'messages',
      '202 p50 ms',
      'p99 ms',
      'publish->run p50 ms',
      'p99 ms',
      'activations/s',
    ];
    const fmt = (v: string | number) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v);
    return { text: table([header, ...rows.map((r) => r.map(fmt))]) };
  } finally {
    for (const child of children) child.kill();
    await nats?.dispose();
    if (nats) await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await rm(temp, { recursive: true, force: true });
  }
}
