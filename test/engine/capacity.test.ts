// The admission core's arithmetic and its contract with pools: tickets count
// sandboxes and memory, a refusal names the cap, eviction is tried before a
// call is refused (never for a pre-warm), a resize is admitted and undone, and
// a pool of real process sandboxes gives its room back when it disposes them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Capacity } from '../../src/engine/capacity.ts';
import { FunctionPool } from '../../src/engine/pool.ts';
import { processSandboxes } from './process-sandboxes.ts';

describe('Capacity', () => {
  it('admits within both caps and refuses past each, naming it', async () => {
    const c = new Capacity({ maxSandboxesTotal: 2, sandboxMemoryTotalMb: 512 });
    const a = await c.admit(256, 'a@1', true);
    await assert.rejects(
      c.admit(512, 'b@1', true),
      (e: any) =>
        e.code === 'throttled' &&
        e.details.cap === 'sandboxMemoryTotalMb' &&
        /sandboxMemoryTotalMb = 512 MB/.test(e.message) &&
        e.details.retryAfterSeconds === 1,
    );
    const b = await c.admit(128, 'b@1', true);
    await assert.rejects(
      c.admit(128, 'c@1', true),
      (e: any) => e.details.cap === 'maxSandboxesTotal' && /maxSandboxesTotal = 2/.test(e.message),
    );
    assert.deepEqual(c.usage(), { sandboxes: 2, memoryMb: 384, maxSandboxesTotal: 2, sandboxMemoryTotalMb: 512 });
    a.release();
    a.release();
    assert.deepEqual(c.usage(), { sandboxes: 1, memoryMb: 128, maxSandboxesTotal: 2, sandboxMemoryTotalMb: 512 });
    b.release();
  });

  it('admits a resize that fits, refuses one that does not, and undoes a failed one', async () => {
    const c = new Capacity({ maxSandboxesTotal: 4, sandboxMemoryTotalMb: 512 });
    const t = await c.admit(256, 'a@1', false);
    assert.throws(() => t.resize(1024), /sandboxMemoryTotalMb/);
    const undo = t.resize(384);
    assert.equal(c.usage().memoryMb, 384);
    undo();
    assert.equal(c.usage().memoryMb, 256);
  });

  it('evicts for a call until the sandbox fits, and never for a pre-warm', async () => {
    const asked: string[] = [];
    let idle = 1;
    const c = new Capacity({ maxSandboxesTotal: 1, sandboxMemoryTotalMb: 1024 }, async (except) => {
      asked.push(except);
      if (idle === 0) return false;
      idle--;
      held.release();
      return true;
    });
    const held = await c.admit(128, 'old@1', true);
    await assert.rejects(c.admit(128, 'new@1', false), /maxSandboxesTotal/);
    assert.deepEqual(asked, []);
    const t = await c.admit(128, 'new@1', true);
    assert.deepEqual(asked, ['new@1']);
    await assert.rejects(c.admit(128, 'third@1', true), /maxSandboxesTotal/);
    t.release();
  });
});

describe('FunctionPool with admission', () => {
  const { start } = processSandboxes('nimbus-capacity-', 'exports.handler = async () => process.pid;');

  it('holds a ticket per live sandbox, releases it on dispose, and fills minSandboxes only as far as the caps allow', async () => {
    const capacity = new Capacity({ maxSandboxesTotal: 2, sandboxMemoryTotalMb: 1024 });
    const pool = new FunctionPool(
      'f@1',
      start,
      { concurrency: 1, minSandboxes: 3, maxSandboxes: 3, waitQueueLimit: 0, keepAliveMs: 60_000 },
      { admit: (evict) => capacity.admit(128, 'f@1', evict) },
    );
    await assert.rejects(pool.fillTo(3), /maxSandboxesTotal = 2/);
    assert.equal(pool.size, 2, 'what fits is kept warm');
    assert.deepEqual(capacity.usage().sandboxes, 2);
    const [first] = pool.sandboxes();
    await pool.removeSandbox(first!.sandbox.id);
    assert.equal(capacity.usage().sandboxes, 1);
    await pool.close();
    assert.deepEqual(capacity.usage(), { sandboxes: 0, memoryMb: 0, maxSandboxesTotal: 2, sandboxMemoryTotalMb: 1024 });
  });
});
