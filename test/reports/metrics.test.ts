// The metrics and latency-classes arithmetic by hand: nearest-rank percentiles,
// rates and cold shares per step, the classes of cold and warm p99, an empty
// window, and the query string's refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, p50p99, durationOf, type DurationFacts } from '../../src/reports/percentiles.ts';
import { metricsReport } from '../../src/reports/metrics.ts';
import { classOf, latencyReport } from '../../src/reports/latency.ts';
import { reportWindow } from '../../src/reports/metrics-query.ts';
import type { ActivationRecord } from '../../src/storage/store.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const call = (engine: string, atS: number, runMs: number, cold = false, initMs = 0): DurationFacts => ({
  engine,
  startMs: T0 + atS * 1000,
  runMs,
  latencyMs: runMs + initMs,
  cold,
});

describe('percentiles', () => {
  it('takes the nearest rank: always a measured value', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2], 50), 1);
    assert.equal(percentile([1, 2], 99), 2);
    assert.equal(percentile([], 50), null);
    assert.deepEqual(p50p99([30, 10, 20]), { p50Ms: 20, p99Ms: 30 });
  });

  it("reads a record's run time, else its end − start; skips a sequence's parent and an unfinished call", () => {
    const base = { engine: 'process', startedAt: '2026-12-01T12:00:00.000Z', endedAt: '2026-12-01T12:00:00.040Z' };
    const rec = (r: object) => ({ ...base, cold: true, initMs: 25, runMs: 12, ...r }) as unknown as ActivationRecord;
    assert.deepEqual(durationOf(rec({})), { engine: 'process', startMs: T0, runMs: 12, latencyMs: 37, cold: true });
    assert.equal(durationOf(rec({ runMs: null, initMs: null, cold: false }))?.runMs, 40);
    assert.equal(durationOf(rec({ engine: 'sequence' })), undefined);
    assert.equal(durationOf(rec({ endedAt: null })), undefined);
  });
});

describe('metrics report', () => {
  it('gives each engine a rate, p50/p99 and cold share per step, aligned with the steps', () => {
    const calls = [
      call('isolate', 1, 4, true),
      call('isolate', 2, 2),
      call('isolate', 3, 6),
      call('isolate', 70, 8),
      call('container', 10, 100, true),
      call('container', 200, 50), // outside the window: not counted
    ];
    const r = metricsReport(calls, { fromMs: T0, toMs: T0 + 120_000, stepMs: 60_000 });
    assert.deepEqual(r.steps, ['2026-12-01T12:00:00.000Z', '2026-12-01T12:01:00.000Z']);
    assert.deepEqual(
      r.engines.map((e) => e.engine),
      ['container', 'isolate'],
    );
    const iso = r.engines[1]!;
    assert.deepEqual(iso.steps.calls, [3, 1]);
    assert.deepEqual(iso.steps.perSecond, [0.05, round6(1 / 60)]);
    assert.deepEqual(iso.steps.p50Ms, [4, 8]);
    assert.deepEqual(iso.steps.p99Ms, [6, 8]);
    assert.deepEqual(iso.steps.coldShare, [round6(1 / 3), 0]);
    assert.deepEqual(iso.totals, {
      calls: 4,
      coldStarts: 1,
      perSecond: round6(4 / 120),
      p50Ms: 4,
      p99Ms: 8,
      coldShare: 0.25,
    });
    const con = r.engines[0]!;
    assert.deepEqual(con.steps.p50Ms, [100, null], 'a step without calls has no percentile');
    assert.deepEqual(con.steps.coldShare, [1, null]);
    assert.equal(con.totals.calls, 1);
    assert.equal(r.message, undefined);
  });

  it('divides a shorter last step by its own length', () => {
    const r = metricsReport([call('process', 61, 1), call('process', 62, 1)], {
      fromMs: T0,
      toMs: T0 + 70_000,
      stepMs: 60_000,
    });
    assert.deepEqual(r.engines[0]!.steps.perSecond, [0, 0.2]);
  });

  it('says an empty window is empty instead of dividing by zero', () => {
    const r = metricsReport([], { fromMs: T0, toMs: T0 + 60_000, stepMs: 60_000 });
    assert.deepEqual(r.engines, []);
    assert.match(r.message ?? '', /no finished calls/);
    assert.equal(r.steps.length, 1);
  });
});

describe('latency classes', () => {
  it('places a latency in the tightest class it fits', () => {
    assert.equal(classOf(0), 'real-time');
    assert.equal(classOf(10), 'real-time');
    assert.equal(classOf(10.5), 'interactive');
    assert.equal(classOf(100), 'interactive');
    assert.equal(classOf(101), 'batch');
  });

  it("places each engine's cold and warm p99 (init + run) apart", () => {
    const calls = [
      call('isolate', 1, 2, true, 30), // cold: 32 ms
      call('isolate', 2, 1),
      call('isolate', 3, 3),
      call('microvm', 4, 5, true, 900), // cold: 905 ms
      call('microvm', 5, 40),
    ];
    const r = latencyReport(calls, { fromMs: T0, toMs: T0 + 60_000 });
    assert.deepEqual(r.engines, [
      {
        engine: 'isolate',
        cold: { calls: 1, p50Ms: 32, p99Ms: 32, class: 'interactive' },
        warm: { calls: 2, p50Ms: 1, p99Ms: 3, class: 'real-time' },
      },
      {
        engine: 'microvm',
        cold: { calls: 1, p50Ms: 905, p99Ms: 905, class: 'batch' },
        warm: { calls: 1, p50Ms: 40, p99Ms: 40, class: 'interactive' },
      },
    ]);
    assert.equal(r.classes.length, 3);
  });

  it('an engine with no warm calls has no warm class; an empty window says so', () => {
    const r = latencyReport([call('process', 1, 50, true, 60)], { fromMs: T0, toMs: T0 + 60_000 });
    assert.deepEqual(r.engines[0]!.warm, { calls: 0, p50Ms: null, p99Ms: null, class: null });
    assert.match(latencyReport([], { fromMs: T0, toMs: T0 + 1 }).message ?? '', /no finished calls/);
  });
});

describe('report window', () => {
  it('ends now and defaults per report', () => {
    assert.deepEqual(reportWindow({}, { window: '1h', step: '1m' }, T0), {
      fromMs: T0 - 3_600_000,
      toMs: T0,
      stepMs: 60_000,
    });
    assert.equal(reportWindow({ window: '2h' }, { window: '24h' }, T0).fromMs, T0 - 7_200_000);
  });

  it('refuses bad input saying how to fix it', () => {
    const bad = (q: Record<string, unknown>, re: RegExp, step: string | null = '1m') =>
      assert.throws(
        () => reportWindow(q, { window: '1h', step: step ?? undefined }),
        (e: Error & { code?: string }) => e.code === 'bad_request' && re.test(e.message),
      );
    bad({ window: 'an hour' }, /window must be a number and a unit/);
    bad({ step: '0m' }, /step must be a number and a unit/);
    bad({ window: '8d' }, /at most 7d/);
    bad({ window: '1m', step: '5m' }, /step 5m is longer than window 1m/);
    bad({ window: '7d', step: '1s' }, /more than 1000; use a larger step/);
    bad({ windows: '1h' }, /unknown query parameter "windows"; this report takes window and step/);
    bad({ step: '1m' }, /unknown query parameter "step"; this report takes window$/, null);
    bad({ window: ['1h', '2h'] }, /given more than once/);
  });
});

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
