// Conformance, limits: logs are captured and capped with a marker, results
// over the cap are refused, and a function that runs too long or uses too
// much memory is stopped and its sandbox killed, without harming the driver.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { Sandbox } from '../../../src/sandbox/driver.ts';
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

  /** Runs one call, keeping the live lines it streams with the time each arrived. */
  const streamed = async (sandbox: Sandbox, input: ReturnType<typeof event>) => {
    const lines: { line: string; ts: number; at: number }[] = [];
    const started = Date.now();
    const outcome = await sandbox.invoke({
      activationId: randomUUID(),
      input,
      timeoutMs: ms(10_000),
      onLog: (batch) => lines.push(...batch.map((l) => ({ ...l, at: Date.now() }))),
    });
    return { outcome, lines, started, ended: Date.now() };
  };

  it('streams log lines while the call runs (live logs), the record keeping its own copy', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'drip' });
    const { outcome, lines, started, ended } = await streamed(sandbox, event({}));
    assert.equal(valueOf(outcome), 'dripped');
    assert.equal(outcome.logs, 'drip 0\ndrip 1\ndrip 2\n');
    assert.deepEqual(
      lines.map((l) => l.line),
      ['drip 0', 'drip 1', 'drip 2'],
    );
    const first = lines[0]!;
    assert.ok(first.at < ended - 400, `the first line arrived ${ended - first.at} ms before the answer`);
    assert.ok(first.ts >= started && first.ts <= first.at, 'line times lie within the call, on the host clock');
  });

  it('caps the streamed lines of a flood at logLimitBytes, with a marker line', { timeout }, async () => {
    const logLimitBytes = 4096;
    const sandbox = await kit.create(fx.faults, { handler: 'flood', logLimitBytes });
    const { outcome, lines } = await streamed(sandbox, event({ lines: 2000 }));
    assert.equal(valueOf(outcome), 'flooded');
    assert.match(lines[0]?.line ?? '', /^flood line 0 /);
    assert.match(lines.at(-1)?.line ?? '', /live log cut after \d+ bytes/);
    const bytes = lines.slice(0, -1).reduce((n, l) => n + Buffer.byteLength(l.line) + 1, 0);
    assert.ok(bytes <= logLimitBytes, `${bytes} bytes streamed for a ${logLimitBytes}-byte limit`);
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
