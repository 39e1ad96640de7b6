// The warm pool's rules with real process sandboxes: warm reuse, max
// sandboxes, concurrency per sandbox, the bounded wait queue, keep-alive.
// A sandbox tells itself apart by its uid: each runs as its own host uid (its
// pid is 2 in its own pid namespace).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { FunctionPool } from '../../src/engine/pool.ts';
import { processSandboxes } from './process-sandboxes.ts';
import { processesOf } from '../../src/sandbox/process/jailed-agent.ts';

describe('FunctionPool', () => {
  const { start } = processSandboxes(
    'nimbus-pool-',
    'exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.ms ?? 0)); return process.getuid(); };',
  );
  const call = async (pool: FunctionPool, ms = 0) => {
    const lease = await pool.acquire();
    try {
      const o = await lease.sandbox.invoke({
        activationId: randomUUID(),
        input: { kind: 'event', event: { ms } },
        timeoutMs: 5000,
      });
      return { pid: (o.output as { value: number }).value, cold: lease.cold };
    } finally {
      pool.release(lease);
    }
  };

  it('reuses a warm sandbox and queues beyond maxSandboxes', async () => {
    const pool = new FunctionPool('f@1', start, {
      concurrency: 1,
      minSandboxes: 0,
      maxSandboxes: 2,
      waitQueueLimit: 10,
      keepAliveMs: 60_000,
    });
    const a = await call(pool);
    const b = await call(pool);
    assert.equal(a.cold, true);
    assert.equal(b.cold, false);
    assert.equal(a.pid, b.pid);
    const many = await Promise.all([0, 1, 2, 3, 4].map(() => call(pool, 200)));
    assert.equal(new Set(many.map((m) => m.pid)).size, 2, 'never more than maxSandboxes');
    assert.equal(pool.size, 2);
    await pool.close();
  });

  it('runs several calls in one sandbox when concurrency allows', async () => {
    const pool = new FunctionPool('f@2', start, {
      concurrency: 4,
      minSandboxes: 0,
      maxSandboxes: 4,
      waitQueueLimit: 0,
      keepAliveMs: 60_000,
    });
    await call(pool);
    const many = await Promise.all([0, 1, 2, 3].map(() => call(pool, 200)));
    assert.equal(new Set(many.map((m) => m.pid)).size, 1);
    await pool.close();
  });

  it('refuses with throttled when the wait queue is full', async () => {
    const pool = new FunctionPool('f@3', start, {
      concurrency: 1,
      minSandboxes: 0,
      maxSandboxes: 1,
      waitQueueLimit: 1,
      keepAliveMs: 60_000,
    });
    const results = await Promise.allSettled([call(pool, 300), call(pool, 0), call(pool, 0)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    const rejected = results[2] as PromiseRejectedResult;
    assert.equal(rejected.reason.code, 'throttled');
    await pool.close();
  });

  it('disposes sandboxes idle past keep-alive', async () => {
    const pool = new FunctionPool('f@4', start, {
      concurrency: 1,
      minSandboxes: 0,
      maxSandboxes: 1,
      waitQueueLimit: 1,
      keepAliveMs: 200,
    });
    const { pid: uid } = await call(pool);
    assert.equal(pool.size, 1);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(pool.size, 0);
    assert.deepEqual(await processesOf(uid), [], 'the idle sandbox process is gone');
    await pool.close();
  });

  it('keeps minSandboxes warm past keep-alive', async () => {
    const pool = new FunctionPool('f@5', start, {
      concurrency: 1,
      minSandboxes: 1,
      maxSandboxes: 2,
      waitQueueLimit: 1,
      keepAliveMs: 200,
    });
    await pool.fillTo(1);
    assert.equal(pool.size, 1);
    // The first call holds the warm sandbox for 3 s, so the second needs one of its own
    // (two calls of 100 ms let a slow start lose the race to the first call's end).
    const held = call(pool, 3000);
    await new Promise((r) => setTimeout(r, 50));
    await call(pool, 0);
    assert.equal(pool.size, 2);
    await held;
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(pool.size, 1, 'idle sandboxes above the minimum are disposed, the minimum stays');
    assert.equal((await call(pool)).cold, false);
    await pool.close();
  });
});
