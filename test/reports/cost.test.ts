// The cost report's arithmetic against cases worked by hand (src/reports/cost.ts,
// concurrency.ts, cost-query.ts): round prices so each number can be checked on paper.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/options.ts';
import { peaksPerBucket } from '../../src/reports/concurrency.ts';
import { costReport, type CallFacts, type CostPrices } from '../../src/reports/cost.ts';
import { pricesOf, windowOf } from '../../src/reports/cost-query.ts';
import { NimbusError } from '../../src/shared/errors.ts';

// $0.00001 per GB-second, $1 per million requests ($0.000001 each), $0.36 an hour ($0.0001 a second).
const PRICES: CostPrices = {
  gbSecondUsd: 0.00001,
  perMillionRequestsUsd: 1,
  vmHourUsd: 0.36,
  vmVcpus: 2,
  vmMemoryMb: 4096,
};
const call = (startMs: number, endMs: number, memoryMb = 1024): CallFacts => ({
  startMs,
  endMs,
  memoryMb,
  gbSeconds: ((endMs - startMs) / 1000) * (memoryMb / 1024),
});
const FIVE_MIN = 300_000;

describe('cost report arithmetic', () => {
  it('prices two buckets of calls against one always-on VM', () => {
    // c1 and c2 overlap; c3 starts as c1 ends (half-open: not three at once); c4 is alone in the second bucket.
    const calls = [call(0, 10_000), call(5_000, 15_000), call(10_000, 20_000), call(400_000, 401_000)];
    const r = costReport(calls, { fromMs: 0, toMs: 2 * FIVE_MIN, bucketMs: FIVE_MIN }, PRICES);
    assert.equal(r.vms, 1);
    assert.equal(r.peakConcurrency, 2);
    assert.equal(r.peakMemoryMb, 2048);
    const [b1, b2] = r.buckets;
    // 30 GB-s × 0.00001 + 3 × 0.000001 = 0.000303; the VM: 0.36 × 5/60 = 0.03.
    assert.deepEqual(
      { ...b1, from: b1!.from, to: b1!.to },
      {
        from: '1970-01-01T00:00:00.000Z',
        to: '1970-01-01T00:05:00.000Z',
        peakConcurrency: 2,
        calls: 3,
        gbSeconds: 30,
        serverlessUsd: 0.000303,
        vmUsd: 0.03,
        vmOverServerless: 99.009901,
        utilization: 0.05, // 30 s busy of 2 vCPU × 300 s
        breakEvenUtilization: 4.950495, // 0.03 / (600 000 ms × 0.000303/30 000 ms): above 1, serverless wins even fully busy
      },
    );
    assert.equal(b2!.calls, 1);
    assert.equal(b2!.peakConcurrency, 1);
    assert.equal(b2!.serverlessUsd, 0.000011);
    assert.equal(b2!.vmOverServerless, 2727.272727);
    assert.equal(b2!.utilization, 0.001667);
    assert.equal(b2!.breakEvenUtilization, 4.545455);
    assert.equal(r.totals.calls, 4);
    assert.equal(r.totals.serverlessUsd, 0.000314);
    assert.equal(r.totals.vmUsd, 0.06);
    assert.equal(r.totals.vmOverServerless, 191.082803);
    assert.equal(r.totals.utilization, 0.025833);
    assert.equal(r.totals.breakEvenUtilization, 4.936306);
    assert.equal(r.message, undefined);
  });

  it('sizes the VMs by concurrency (one call per vCPU) or by memory, whichever needs more', () => {
    const window = { fromMs: 0, toMs: 60_000, bucketMs: 60_000 };
    const five = [0, 1, 2, 3, 4].map((i) => call(i, 10_000, 128));
    assert.equal(costReport(five, window, PRICES).vms, 3); // ceil(5 / 2)
    const big = [0, 1, 2].map((i) => call(i, 10_000, 3000));
    const r = costReport(big, window, { ...PRICES, vmVcpus: 8 });
    assert.equal(r.peakMemoryMb, 9000);
    assert.equal(r.vms, 3); // ceil(9000 / 4096), though one VM has vCPUs enough
  });

  it('keeps the fleet of the window peak in every bucket and prices a short last bucket by its length', () => {
    const r = costReport([call(0, 1000)], { fromMs: 0, toMs: 700_000, bucketMs: FIVE_MIN }, PRICES);
    assert.deepEqual(
      r.buckets.map((b) => [b.calls, b.vmUsd, b.vmOverServerless]),
      [
        [1, 0.03, 2727.272727], // 0.03 / 0.000011
        [0, 0.03, null],
        [0, 0.01, null], // 100 s of 0.36 an hour
      ],
    );
    assert.equal(r.buckets[2]!.to, '1970-01-01T00:11:40.000Z');
  });

  it('splits a call running across a bucket edge by its time in each; its request counts where it started', () => {
    const r = costReport([call(290_000, 310_000)], { fromMs: 0, toMs: 2 * FIVE_MIN, bucketMs: FIVE_MIN }, PRICES);
    assert.deepEqual(
      r.buckets.map((b) => [b.calls, b.gbSeconds, b.serverlessUsd, b.utilization, b.vmOverServerless]),
      [
        [1, 10, 0.000101, 0.016667, 297.029703], // 0.03 / 0.000101
        [0, 10, 0.0001, 0.016667, 300],
      ],
    );
    assert.equal(r.totals.gbSeconds, 20);
  });

  it('says so for an empty window instead of dividing by zero', () => {
    const r = costReport([], { fromMs: 0, toMs: FIVE_MIN, bucketMs: 60_000 }, PRICES);
    assert.equal(r.vms, 0);
    assert.equal(r.buckets.length, 5);
    assert.deepEqual(
      { ...r.totals },
      {
        peakConcurrency: 0,
        calls: 0,
        gbSeconds: 0,
        serverlessUsd: 0,
        vmUsd: 0,
        vmOverServerless: null,
        utilization: 0,
        breakEvenUtilization: null,
      },
    );
    assert.match(r.message ?? '', /no finished calls/);
    assert.ok(JSON.stringify(r).indexOf('NaN') < 0 && JSON.stringify(r).indexOf('null') > 0);
  });

  it('counts a call running across a bucket edge in the peak of both buckets', () => {
    const peaks = peaksPerBucket(
      [
        { start: 50, end: 150, weight: 128 },
        { start: 60, end: 70, weight: 256 },
        { start: 100, end: 100, weight: 999 }, // empty: never runs
      ],
      [0, 100, 200, 300],
    );
    assert.deepEqual(peaks, [
      { count: 2, weight: 384 },
      { count: 1, weight: 128 },
      { count: 0, weight: 0 },
    ]);
  });
});

describe('cost report query', () => {
  const bad = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof NimbusError && e.code === 'bad_request' && pattern.test(e.message));

  it('defaults to the last hour in 5-minute buckets and checks from, to and bucket', () => {
    assert.deepEqual(windowOf({}, 7_200_000), { fromMs: 3_600_000, toMs: 7_200_000, bucketMs: FIVE_MIN });
    assert.deepEqual(windowOf({ from: '2026-12-01T12:00:00Z', to: '2026-12-01T12:01:00Z', bucket: '10s' }), {
      fromMs: Date.parse('2026-12-01T12:00:00Z'),
      toMs: Date.parse('2026-12-01T12:01:00Z'),
      bucketMs: 10_000,
    });
    bad(() => windowOf({ from: '2026-12-01T13:00:00Z', to: '2026-12-01T12:00:00Z' }), /must be before to.*swap/);
    bad(() => windowOf({ from: 'yesterday' }), /from must be an ISO date-time/);
    bad(() => windowOf({ bucket: '5 minutes' }), /bucket must be .* such as 30s, 5m/);
    bad(() => windowOf({ bucket: '0m' }), /bucket must be/);
    bad(() => windowOf({ from: '2026-01-01T00:00:00Z', to: '2026-12-01T00:00:00Z', bucket: '1h' }), /more than 1000/);
  });

  it('takes the configured prices, each overridden by its query parameter within the option bounds', () => {
    const config = resolveConfig({ costVmHourUsd: 0.5 });
    assert.deepEqual(pricesOf({}, config), {
      gbSecondUsd: 0.0000166667,
      perMillionRequestsUsd: 0.2,
      vmHourUsd: 0.5,
      vmVcpus: 2,
      vmMemoryMb: 4096,
    });
    assert.equal(pricesOf({ vmHourUsd: '0.0416', vmVcpus: '4' }, config).vmHourUsd, 0.0416);
    bad(() => pricesOf({ vmVcpus: '1.5' }, config), /vmVcpus must be a number from 1 to 1024, whole/);
    bad(() => pricesOf({ gbSecondUsd: 'cheap' }, config), /gbSecondUsd must be a number/);
    bad(() => pricesOf({ vmHourUsd: '' }, config), /vmHourUsd/);
  });
});
