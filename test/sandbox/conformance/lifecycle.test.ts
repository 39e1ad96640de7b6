// Conformance, lifecycle: overlapping calls in one sandbox, module state kept
// warm across calls, dispose that leaves nothing behind (sandbox and driver),
// onDeath fired once.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Sandbox } from '../../../src/sandbox/driver.ts';
import { forEachDriver } from './matrix.ts';
import { useFixtures } from './functions.ts';
import { assertDriverLeftNothing, assertNothingLeft } from './leftovers.ts';
import { event, valueOf } from './kit.ts';

const fx = await useFixtures(['faults', 'stateful']);

/** Counts onDeath calls; `died` resolves with the first reason. */
function watchDeath(sandbox: Sandbox) {
  const reasons: string[] = [];
  const died = new Promise<string>((resolve) =>
    sandbox.onDeath((reason) => {
      reasons.push(reason);
      resolve(reason);
    }),
  );
  return { reasons, died };
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

await forEachDriver(({ kind, driver, kit, ms, dataDir, node }) => {
  const timeout = ms(60_000);

  // An engine that runs one call at a time per sandbox says so; its calls must queue, not fail.
  const concurrent = driver.capabilities.concurrentCalls;
  it(
    `runs two overlapping calls in one sandbox ${concurrent ? 'at once' : 'one after the other, as declared'}, logs kept apart`,
    { timeout },
    async () => {
      const sandbox = await kit.create(fx.stateful, { handler: 'slow' });
      const [a, b] = await Promise.all([
        kit.invoke(sandbox, event({ tag: 'A' })),
        kit.invoke(sandbox, event({ tag: 'B' })),
      ]);
      const va = valueOf(a) as { startedAt: number; endedAt: number };
      const vb = valueOf(b) as { startedAt: number; endedAt: number };
      const overlapped = va.startedAt < vb.endedAt && vb.startedAt < va.endedAt;
      const declared = concurrent ? 'concurrent calls' : 'one call at a time';
      assert.equal(
        overlapped,
        concurrent,
        `calls ran ${overlapped ? 'at once' : 'one after the other'}, driver declares: ${declared}; ${JSON.stringify([va, vb])}`,
      );
      assert.match(a.logs, /start A[\s\S]*end A/);
      assert.match(b.logs, /start B[\s\S]*end B/);
      assert.doesNotMatch(a.logs, /B/);
      assert.doesNotMatch(b.logs, /A/);
    },
  );

  it('keeps module state warm across calls of one sandbox, and apart between sandboxes', { timeout }, async () => {
    const first = await kit.create(fx.stateful, { handler: 'counter' });
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push(valueOf(await kit.invoke(first, event({}))));
    assert.deepEqual(counts, [1, 2, 3]);
    const second = await kit.create(fx.stateful, { handler: 'counter' });
    assert.equal(valueOf(await kit.invoke(second, event({}))), 1);
  });

  it(
    'dispose leaves nothing behind, child processes included, and the sandbox refuses calls',
    { timeout },
    async () => {
      const sandbox = await kit.create(fx.stateful, { handler: node ? 'spawnChild' : 'counter' });
      assert.equal(typeof valueOf(await kit.invoke(sandbox, event({}))), 'number');
      const info = sandbox.info();
      assert.equal(info.state, 'ready');
      await sandbox.dispose();
      assert.equal(sandbox.state, 'dead');
      await assertNothingLeft(kind, info, dataDir);
      await assert.rejects(kit.invoke(sandbox, event({})));
    },
  );

  it('fires onDeath once when the sandbox is disposed', { timeout }, async () => {
    const sandbox = await kit.create(fx.stateful, { handler: 'counter' });
    const death = watchDeath(sandbox);
    await sandbox.dispose();
    assert.equal(typeof (await death.died), 'string');
    await sandbox.dispose();
    await nextTick();
    assert.equal(death.reasons.length, 1, `onDeath fired ${death.reasons.length} times: ${death.reasons.join(' | ')}`);
  });

  it('fires onDeath once when a timeout kills the sandbox', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'spin' });
    const death = watchDeath(sandbox);
    await kit.invoke(sandbox, event({}), 1000);
    await death.died;
    await sandbox.dispose();
    await nextTick();
    assert.equal(death.reasons.length, 1, `onDeath fired ${death.reasons.length} times: ${death.reasons.join(' | ')}`);
  });

  it('driver dispose (last) leaves no process behind', { timeout }, async () => {
    await kit.create(fx.stateful, { handler: 'counter' });
    await kit.disposeAll();
    await driver.dispose();
    await assertDriverLeftNothing(kind, dataDir);
  });
});
