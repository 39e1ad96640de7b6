// The autoscaler on a real platform (process engine, short windows): callers
// join one every 600 ms, each with a 6 s call, on a function of concurrency 1
// and maxSandboxes 8. Without the autoscaler every call after the first finds
// all sandboxes busy and starts one cold; with it, sandboxes are started ahead
// of the callers, so some of them find a warm one. Once the load is gone,
// the pool falls back to one sandbox after the stable window.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const SLOW = 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return "done"; };';

describe('autoscaler on the process engine', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({
      autoscaleIntervalMs: 100,
      autoscalePanicWindowMs: 1_000,
      autoscaleStableWindowMs: 4_000,
    });
  });
  after(() => t.close());

  const sandboxCount = async () =>
    ((await t.request('GET', '/v1/sandboxes')).json.sandboxes as { functionName: string }[]).filter(
      (s) => s.functionName === 'ramp',
    ).length;

  it('starts sandboxes ahead of a rising load and removes them after it falls', async () => {
    assert.equal((await t.deploy('ramp', SLOW, { concurrency: 1, maxSandboxes: 8 })).status, 201);
    assert.equal((await t.invoke('ramp', { ms: 0 })).status, 200);
    const calls: Promise<{ cold: boolean; status: number }>[] = [];
    for (let i = 0; i < 8; i++) {
      calls.push(
        t.invoke('ramp', { ms: 6_000 }).then((r) => ({
          status: r.status,
          cold: r.headers.get('x-nimbus-cold-start') === 'true',
        })),
      );
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    const peak = await sandboxCount();
    const results = await Promise.all(calls);
    assert.deepEqual(
      results.map((r) => r.status),
      Array(8).fill(200),
    );
    // Calls 2..8 each arrived while every earlier call still ran (concurrency 1): a warm one
    // found a sandbox that no call had asked for, which only the autoscaler starts.
    const aheadOfTheQueue = results.slice(1).filter((r) => !r.cold).length;
    assert.ok(aheadOfTheQueue >= 3, `calls served by a sandbox started ahead: ${aheadOfTheQueue} of 7`);
    assert.equal(peak, 8, 'the pool grows to maxSandboxes and no further');
    const until = Date.now() + 20_000;
    while ((await sandboxCount()) > 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await sandboxCount(), 1, 'scaled down to one after the stable window (the last goes by keep-alive)');
  });
});
