// A retired pool (a newer version took over) drains with real process
// sandboxes: the call whose sandbox is still starting, the calls waiting for
// one and a call that reaches the pool after it was retired all run; then
// every sandbox is disposed. Past its bound, what is left is closed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { FunctionPool } from '../../src/engine/pool.ts';
import { processSandboxes } from './process-sandboxes.ts';
import { processesOf } from '../../src/sandbox/process/jailed-agent.ts';

describe('FunctionPool.retire', () => {
  const { start } = processSandboxes(
    'nimbus-pool-drain-',
    'exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.ms ?? 0)); return process.getuid(); };',
  );
  const limits = { concurrency: 1, minSandboxes: 1, maxSandboxes: 2, waitQueueLimit: 10, keepAliveMs: 60_000 };
  const call = async (pool: FunctionPool, ms = 0) => {
    const lease = await pool.acquire();
    try {
      const o = await lease.sandbox.invoke({
        activationId: randomUUID(),
        input: { kind: 'event', event: { ms } },
        timeoutMs: 5000,
      });
      if (!o.ok) throw new Error(`call failed: ${JSON.stringify(o)}`);
      return (o.output as { value: number }).value;
    } finally {
      pool.release(lease);
    }
  };

  it('serves starting, waiting and late calls, then disposes every sandbox', { timeout: 30_000 }, async () => {
    const pool = new FunctionPool('f@1', start, limits);
    await pool.fillTo(1);
    const idle = pool.sandboxes()[0]!.sandbox;
    // One call on the warm sandbox, one starting a second sandbox, two waiting for either.
    const early = [call(pool, 300), call(pool, 300), call(pool, 100), call(pool, 100)];
    await new Promise((r) => setImmediate(r));
    let drained = false;
    const retired = pool.retire(30_000).then(() => (drained = true));
    const late = call(pool, 0);
    const uids = await Promise.all([...early, late]);
    assert.equal(uids.length, 5, 'every call ran');
    await retired;
    assert.equal(drained, true);
    assert.equal(pool.size, 0);
    assert.equal(idle.state, 'dead');
    for (const uid of new Set(uids)) assert.deepEqual(await processesOf(uid), [], `sandbox uid ${uid} is gone`);
  });

  it(
    'disposes idle sandboxes at once, minSandboxes included, and resolves when empty',
    { timeout: 30_000 },
    async () => {
      const pool = new FunctionPool('f@2', start, limits);
      await pool.fillTo(1);
      const uid = await call(pool);
      await pool.retire(30_000);
      assert.equal(pool.size, 0);
      assert.deepEqual(await processesOf(uid), []);
      const late = await call(pool);
      assert.notEqual(late, uid, 'a late call still runs, in a sandbox of its own');
      assert.equal(pool.size, 0, 'which is disposed once the call is done');
    },
  );

  it('closes what is left past its bound', { timeout: 30_000 }, async () => {
    const pool = new FunctionPool('f@3', start, limits);
    const stuck = call(pool, 3_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const startedAt = Date.now();
    await pool.retire(300);
    assert.ok(Date.now() - startedAt < 2_000, 'retire gave up at its bound');
    await assert.rejects(stuck);
  });
});
