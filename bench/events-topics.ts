// The topics part of `npm run bench:events` (embedded: SQLite, memory bus, one
// process): publish-to-activation latency (from the publish request leaving
// the client to the subscriber's handler starting, same clock) with one warm
// subscriber and publishes one at a time, and fan-out (1 topic x 10
// subscribers, publishes BENCH_TOPIC_CONCURRENCY at a time): the publish's own
// 202 latency, publish-to-activation, and activations finished per second.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPlatform, type Platform } from '../src/platform.ts';
import { table } from './lib.ts';

const MESSAGES = Number(process.env.BENCH_TOPIC_MESSAGES ?? 200);
const FANOUT_MESSAGES = Number(process.env.BENCH_TOPIC_FANOUT_MESSAGES ?? 100);
const CONCURRENCY = Number(process.env.BENCH_TOPIC_CONCURRENCY ?? 8);
const ENGINE = process.env.BENCH_TOPIC_ENGINE ?? 'isolate';
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
async function ranAt(platform: Platform, ids: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const id of ids) {
    for (;;) {
      const a = await platform.store.getActivation(id);
      if (a && a.status === 'success') {
        out.push((a.result as { ranAt: number }).ranAt);
        break;
      }
      if (a && !['queued', 'running'].includes(a.status))
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

export async function topicsBench(): Promise<{ text: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-topics-'));
  const platform = await startPlatform({ port: 0, dataDir, logLevel: 'silent' });
  const url = platform.url ?? '';
  try {
    const rows: (string | number)[][] = [];
    await subscribe(url, 'one', 1);
    const lat: number[] = [];
    const acks: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const t0 = Date.now();
      const r0 = performance.now();
      const { activationIds } = await api(url, 'POST', '/v1/topics/one/publish', { i });
      acks.push(performance.now() - r0);
      lat.push((await ranAt(platform, activationIds))[0]! - t0);
    }
    rows.push(['1 subscriber, one at a time', MESSAGES, pct(acks, 50), pct(acks, 99), pct(lat, 50), pct(lat, 99), '-']);

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
        pending.push(ranAt(platform, activationIds).then((ts) => void fanLat.push(...ts.map((t) => t - t0))));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await Promise.all(pending);
    const perSecond = (FANOUT_MESSAGES * SUBSCRIBERS) / ((performance.now() - started) / 1000);
    rows.push([
      `1 topic x ${SUBSCRIBERS} subscribers, ${CONCURRENCY} publishing`,
      FANOUT_MESSAGES,
      pct(fanAcks, 50),
      pct(fanAcks, 99),
      pct(fanLat, 50),
      pct(fanLat, 99),
      Math.round(perSecond),
    ]);
    const header = ['case', 'messages', '202 p50 ms', '202 p99 ms', 'publish->run p50 ms', 'p99 ms', 'activations/s'];
    const fmt = (v: string | number) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v);
    const text = table([header, ...rows.map((r) => r.map(fmt))]);
    return { text };
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
