// The autoscaler's decisions on GET /metrics (process engine, short windows):
// three 4 s calls at once on a function of concurrency 1 and maxSandboxes 6
// make it want more sandboxes than the calls started (desired gauge above 3,
// an "up" decision counted); once the calls end it removes the spares (a
// "down" decision) and wants none again (the last sandbox goes by keep-alive).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const SLOW = 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return "done"; };';

/** The samples of one metric for function `fn`: each sample's labels and value. */
function samples(text: string, metric: string, fn: string): { labels: string; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) && l.includes(`function="${fn}"`))
    .map((l) => ({ labels: l.slice(l.indexOf('{'), l.indexOf('}') + 1), value: Number(l.split(' ').at(-1)) }));
}

describe('autoscaler metrics', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({
      autoscaleIntervalMs: 100,
      autoscalePanicWindowMs: 1_000,
      autoscaleStableWindowMs: 2_000,
    });
  });
  after(() => t.close());

  /** Reads /metrics until `done` holds of it, at most `ms`; returns the last text. */
  async function metricsUntil(done: (text: string) => boolean, ms: number): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const r = await t.request('GET', '/metrics');
      assert.equal(r.status, 200);
      if (done(r.text) || Date.now() > until) return r.text;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const desired = (text: string) => samples(text, 'nimbus_autoscaler_desired_sandboxes', 'scaled')[0]?.value;
  const decisions = (text: string, direction: string) =>
    samples(text, 'nimbus_autoscaler_decisions_total', 'scaled')
      .filter((s) => s.labels.includes(`direction="${direction}"`))
      .reduce((sum, s) => sum + s.value, 0);

  it('shows the desired count and counts up and down decisions by window', async () => {
    assert.equal((await t.deploy('scaled', SLOW, { concurrency: 1, maxSandboxes: 6 })).status, 201);
    assert.equal((await t.invoke('scaled', { ms: 0 })).status, 200);
    const idle = await metricsUntil((m) => desired(m) === 0, 5_000);
    assert.equal(desired(idle), 0, 'no demand, nothing wanted');
    // (The first call may already have had a spare started beside it: 1 call / 70% wants 2.)
    const upBefore = decisions(idle, 'up');

    const calls = [1, 2, 3].map(() => t.invoke('scaled', { ms: 4_000 }));
    const busy = await metricsUntil((m) => decisions(m, 'up') > upBefore && (desired(m) ?? 0) > 3, 4_000);
    assert.ok((desired(busy) ?? 0) > 3, `desired ${desired(busy)} with 3 calls at 70% of concurrency 1`);
    assert.ok((desired(busy) ?? 0) <= 6, 'never past maxSandboxes');
    assert.ok(decisions(busy, 'up') > upBefore, 'an up decision was counted');
    for (const s of samples(busy, 'nimbus_autoscaler_decisions_total', 'scaled'))
      assert.match(s.labels, /window="(stable|panic)"/);
    for (const r of await Promise.all(calls)) assert.equal(r.status, 200, r.text);

    const downBefore = decisions(busy, 'down');
    const calm = await metricsUntil((m) => decisions(m, 'down') > downBefore && desired(m) === 0, 15_000);
    assert.ok(decisions(calm, 'down') > downBefore, 'the spares were removed');
    assert.equal(desired(calm), 0);
    const held = (await t.request('GET', '/v1/sandboxes')).json.sandboxes.filter(
      (s: { functionName: string }) => s.functionName === 'scaled',
    ).length;
    assert.equal(held, 1, 'the last sandbox stays for its keep-alive');
  });
});
