// Conformance, optional capabilities (the VM operations beyond create and
// delete: snapshot, migrate, resize): each case runs where the driver declares the capability
// and is skipped with the driver's own reason where it does not.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DriverCapabilities } from '../../../src/sandbox/driver.ts';
import { forEachDriver } from './matrix.ts';
import { useFixtures } from './functions.ts';
import { assertNothingLeft } from './leftovers.ts';
import { event, valueOf } from './kit.ts';

const fx = await useFixtures(['stateful']);

await forEachDriver(({ kind, driver, kit, ms, dataDir }) => {
  const timeout = ms(60_000);
  const needs = (capability: keyof DriverCapabilities) => {
    const has = driver.capabilities[capability];
    return { timeout, skip: has === true ? false : has };
  };

  it('declares each capability as true or the reason it lacks it, and concurrentCalls as a plain boolean', () => {
    const { concurrentCalls, ...operations } = driver.capabilities;
    assert.equal(
      typeof concurrentCalls,
      'boolean',
      'concurrentCalls must be declared: true, or false for one call at a time',
    );
    for (const [name, v] of Object.entries(operations))
      assert.ok(v === true || (typeof v === 'string' && v.length > 0), `${name}: ${JSON.stringify(v)}`);
  });

  it('resizes memory and reports before and after', needs('resize'), async () => {
    const sandbox = await kit.create(fx.stateful, { handler: 'counter', memoryMb: 160 });
    assert.ok(sandbox.resize, 'the driver declares resize but its sandbox has no resize()');
    const report = await sandbox.resize({ memoryMb: 256 });
    assert.equal(report.before.memoryMb, 160);
    assert.equal(report.after.memoryMb, 256);
    assert.equal(sandbox.info().memoryMb, 256);
    assert.equal(valueOf(await kit.invoke(sandbox, event({}))), 1);
  });

  it(
    'migrates a running sandbox with its module state, leaving nothing at either place',
    needs('migrate'),
    async () => {
      const sandbox = await kit.create(fx.stateful, { handler: 'counter' });
      assert.equal(valueOf(await kit.invoke(sandbox, event({}))), 1);
      assert.ok(sandbox.migrate, 'the driver declares migrate but its sandbox has no migrate()');
      const before = sandbox.info();
      const report = await sandbox.migrate();
      assert.ok(
        report.totalMs >= 0 && (report.downtimeMs ?? 0) <= report.totalMs,
        `implausible report ${JSON.stringify(report)}`,
      );
      assert.equal(sandbox.state, 'ready');
      assert.equal(valueOf(await kit.invoke(sandbox, event({}))), 2, 'module state survives the move');
      const after = sandbox.info();
      await sandbox.dispose();
      await assertNothingLeft(kind, before, dataDir);
      await assertNothingLeft(kind, after, dataDir);
    },
  );
});
