// The learned keep-alive applied by a pool with real process sandboxes. The
// histogram's bins are shrunk from a minute to 100 ms so that the policy runs
// in real time: a function whose calls come about a second apart is unloaded
// after each call and pre-warmed just before the next, which then finds a warm
// sandbox; one called often keeps its sandbox; a fixed keep-alive keeps it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { PoolScaling } from '../../src/engine/autoscale/pool-scaling.ts';
import { IdleHistogram } from '../../src/engine/keepalive/hybrid-policy.ts';
import { FunctionPool } from '../../src/engine/pool.ts';
import { processSandboxes } from './process-sandboxes.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('learned keep-alive in a pool', () => {
  const { start } = processSandboxes('nimbus-keepalive-', 'exports.handler = async () => "ok";');
  const call = async (pool: FunctionPool) => {
    const lease = await pool.acquire();
    try {
      await lease.sandbox.invoke({ activationId: randomUUID(), input: { kind: 'event', event: {} }, timeoutMs: 5000 });
      return lease.cold;
    } finally {
      pool.release(lease);
    }
  };
  const poolWith = (idleTimes?: IdleHistogram) => {
    const scaling: PoolScaling = {
      autoscale: {
        targetConcurrency: 1,
        stableWindowMs: 60_000,
        panicWindowMs: 6_000,
        intervalMs: 60_000,
        minSandboxes: 0,
        maxSandboxes: 2,
      },
      ...(idleTimes ? { idleTimes } : {}),
    };
    return new FunctionPool('f@1', start, {
      concurrency: 1,
      minSandboxes: 0,
      maxSandboxes: 2,
      waitQueueLimit: 1,
      keepAliveMs: 600_000,
      scaling,
    });
  };

  it('unloads after a call and pre-warms before the next one it learned to expect', async () => {
    // Ten gaps of 3 s in 200 ms bins: pre-warm at 2.7 s, keep until 3.52 s after the call.
    const idleTimes = new IdleHistogram(200);
    for (let i = 0; i < 10; i++) idleTimes.record(3_000 + i * 5);
    const decision = idleTimes.decide(600_000);
    assert.deepEqual(decision, { prewarmMs: 2_700, keepAliveMs: 820, learned: true });
    const pool = poolWith(idleTimes);
    assert.equal(await call(pool), true);
    const idleFrom = Date.now();
    assert.equal(pool.size, 0, 'unloaded at once');
    await sleep(2_000);
    assert.equal(pool.size, 0, 'not loaded before the pre-warm');
    while (pool.size === 0 && Date.now() - idleFrom < 4_000) await sleep(20);
    assert.equal(pool.size, 1, 'pre-warmed');
    assert.ok(Date.now() - idleFrom >= 2_700, 'not before its time');
    assert.equal(await call(pool), false, 'the next call finds it warm');
    assert.equal(idleTimes.samples, 11, 'and its idle time was learned');
    await pool.close();
  });

  it('keeps the sandbox of a function called often, and of one with a fixed keep-alive', async () => {
    const often = new IdleHistogram(100);
    for (let i = 0; i < 20; i++) often.record(10);
    const learned = poolWith(often);
    const fixed = poolWith();
    for (const pool of [learned, fixed]) {
      assert.equal(await call(pool), true);
      assert.equal(pool.size, 1);
      assert.equal(await call(pool), false);
    }
    // Learned: kept 110 ms (one bin + 10%); fixed: ten minutes.
    await sleep(500);
    assert.equal(learned.size, 0, 'the learned keep-alive let it go');
    assert.equal(fixed.size, 1);
    await Promise.all([learned.close(), fixed.close()]);
  });
});
