// The metrics and latency reports over records read back from both stores
// (src/reports/calls.ts readRecords): engines, cold flags, run and init times
// come back as the numbers and booleans the arithmetic needs, so the same
// records give the same percentiles, rates and classes on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { readRecords } from '../../src/reports/calls.ts';
import { durationOf } from '../../src/reports/percentiles.ts';
import { metricsReport } from '../../src/reports/metrics.ts';
import { latencyReport } from '../../src/reports/latency.ts';
import type { Store } from '../../src/storage/store.ts';
import { eachStore } from '../helpers/stores.ts';
import { activation } from '../storage/records.ts';

const FROM = Date.parse('2026-12-01T12:00:00Z');
const TO = FROM + 120_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function check(store: Store): Promise<void> {
  const ran = (atMs: number, engine: 'isolate' | 'container', runMs: number, cold: boolean, initMs: number) =>
    activation({
      engine,
      cold,
      runMs,
      initMs,
      createdAt: iso(atMs),
      startedAt: iso(atMs + 1),
      endedAt: iso(atMs + 1 + initMs + runMs),
    });
  const records = [
    ran(FROM + 1000, 'isolate', 2, true, 40),
    ...[1, 2, 3, 4].map((ms, i) => ran(FROM + 2000 + i, 'isolate', ms, false, 0)),
    ran(FROM + 70_000, 'container', 30, true, 300),
    ran(FROM + 71_000, 'container', 20, false, 0),
    activation({ createdAt: iso(FROM + 5000), status: 'queued' }), // not ended: not counted
    ran(FROM + 3000, 'isolate', 9, false, 0), // of another namespace below
  ];
  records.at(-1)!.functionName = 'other/f';
  for (const r of records) await store.putActivation(r);

  const calls = await readRecords(store, { namespace: 'default', fromMs: FROM, toMs: TO }, durationOf);
  assert.equal(calls.length, 7);
  const m = metricsReport(calls, { fromMs: FROM, toMs: TO, stepMs: 60_000 });
  const [container, isolate] = m.engines;
  assert.deepEqual(isolate!.steps.calls, [5, 0]);
  assert.deepEqual(isolate!.steps.p50Ms, [2, null]);
  assert.deepEqual(isolate!.steps.p99Ms, [4, null]);
  assert.deepEqual(isolate!.steps.coldShare, [0.2, null]);
  assert.deepEqual(container!.steps.calls, [0, 2]);
  assert.equal(container!.totals.coldShare, 0.5);

  const l = latencyReport(calls, { fromMs: FROM, toMs: TO });
  assert.deepEqual(l.engines, [
    {
      engine: 'container',
      cold: { calls: 1, p50Ms: 330, p99Ms: 330, class: 'batch' },
      warm: { calls: 1, p50Ms: 20, p99Ms: 20, class: 'interactive' },
    },
    {
      engine: 'isolate',
      cold: { calls: 1, p50Ms: 42, p99Ms: 42, class: 'interactive' },
      warm: { calls: 4, p50Ms: 2, p99Ms: 4, class: 'real-time' },
    },
  ]);
}

describe('metrics and latency over stored records', () => {
  eachStore('the same records, the same answer', check);
});
