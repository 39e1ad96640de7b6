// Conformance, limits: logs are captured and capped with a marker, results
// over the cap are refused, and a function that runs too long or uses too
// much memory is stopped and its sandbox killed, without harming the driver.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDriver } from './matrix.ts';
import { useFixtures } from './functions.ts';
import { errorOf, event, valueOf } from './kit.ts';

const fx = await useFixtures(['faults', 'openwhisk']);

await forEachDriver(({ kit, ms }) => {
  const timeout = ms(60_000);

  it('captures console.log and console.error in the outcome', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'chatty' });
    const outcome = await kit.invoke(sandbox, event({}));
    assert.equal(valueOf(outcome), 'done');
    assert.match(outcome.logs, /conformance to stdout/);
    assert.match(outcome.logs, /conformance to stderr/);
    assert.equal(outcome.logsTruncated, false);
  });

  it('truncates a log flood at logLimitBytes, with a marker', { timeout }, async () => {
    const logLimitBytes = 4096;
    const sandbox = await kit.create(fx.faults, { handler: 'flood', logLimitBytes });
    const outcome = await kit.invoke(sandbox, event({ lines: 2000 }));
    assert.equal(valueOf(outcome), 'flooded');
    assert.equal(outcome.logsTruncated, true);
    assert.match(outcome.logs, /^flood line 0 /);
    assert.match(outcome.logs, /\[nimbus: log truncated/);
    const size = Buffer.byteLength(outcome.logs);
    assert.ok(size <= logLimitBytes + 200, `logs of ${size} bytes for a ${logLimitBytes}-byte limit`);
  });

  it('refuses a result over resultLimitBytes with result_too_large', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'big', resultLimitBytes: 1024 });
    assert.equal((valueOf(await kit.invoke(sandbox, event({ bytes: 500 }))) as string).length, 500);
    errorOf(await kit.invoke(sandbox, event({ bytes: 64 * 1024 })), 'result_too_large');
  });

  it('stops an infinite loop at timeoutMs, kills the sandbox, and keeps the driver usable', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'spin' });
    const started = Date.now();
    const outcome = await kit.invoke(sandbox, event({}), 1000);
    const took = Date.now() - started;
    errorOf(outcome, 'timeout');
    assert.ok(took >= 900 && took < 1000 + ms(5000), `timed out after ${took} ms for a 1000 ms timeout`);
    assert.equal(sandbox.state, 'dead');
    const fresh = await kit.create(fx.openwhisk);
    assert.deepEqual(valueOf(await kit.invoke(fresh, event({ name: 'again' }))), { greeting: 'hello again' });
  });

  it('stops a function that allocates far over memoryMb with memory_exhausted', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'hog', memoryMb: 160 });
    errorOf(await kit.invoke(sandbox, event({}), ms(30_000)), 'memory_exhausted');
    assert.equal(sandbox.state, 'dead');
  });
});
