// Conformance, function failures: a throw or a rejection is a function_error
// with message and stack and leaves the sandbox usable (a throw from a timer
// fails the call that set it); a module that cannot load fails create();
// process.exit kills the sandbox on Node engines.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isNimbusError } from '../../../src/shared/errors.ts';
import { forEachDriver } from './matrix.ts';
import { useFixtures } from './functions.ts';
import { errorOf, event } from './kit.ts';
import { assertNothingLeftOfSpec } from './leftovers.ts';

const fx = await useFixtures(['faults', 'load-error', 'named']);

await forEachDriver(({ kind, driver, dataDir, kit, ms, node }) => {
  const timeout = ms(60_000);

  it('reports a thrown error as function_error, with message and stack', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'throws' });
    const error = errorOf(await kit.invoke(sandbox, event({})), 'function_error');
    assert.equal(error.message, 'conformance boom');
    assert.match(error.stack ?? '', /conformance boom[\s\S]*\bat\b/);
    assert.equal(sandbox.state, 'ready', 'a thrown error must not kill the sandbox');
    errorOf(await kit.invoke(sandbox, event({})), 'function_error');
  });

  it('reports an async rejection as function_error, with message and stack', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'rejects' });
    const error = errorOf(await kit.invoke(sandbox, event({})), 'function_error');
    assert.equal(error.message, 'conformance async boom');
    assert.match(error.stack ?? '', /TypeError: conformance async boom/);
    assert.equal(sandbox.state, 'ready');
  });

  it('fails the call whose timer throws with function_error, and keeps the sandbox', { timeout }, async () => {
    const sandbox = await kit.create(fx.faults, { handler: 'timerThrows' });
    const error = errorOf(await kit.invoke(sandbox, event({})), 'function_error');
    assert.match(error.message, /conformance timer boom/);
    assert.equal(sandbox.state, 'ready', 'an error thrown from a timer must not kill the sandbox');
  });

  it(
    'rejects create() with function_error when the module throws while loading, leaving nothing behind',
    { timeout },
    async () => {
      const spec = kit.spec(fx['load-error']);
      await assert.rejects(driver.create(spec), (e: unknown) => {
        assert.ok(isNimbusError(e), `expected a NimbusError, got ${String(e)}`);
        assert.equal(e.code, 'function_error');
        assert.match(e.message, /conformance load failure/);
        assert.match(String(e.details.logs), /conformance loading/, 'logs written while loading are kept');
        return true;
      });
      await assertNothingLeftOfSpec(kind, spec, dataDir);
    },
  );

  it('rejects create() with function_error when no handler can be found', { timeout }, async () => {
    await assert.rejects(
      kit.create(fx.named),
      (e: unknown) => isNimbusError(e) && e.code === 'function_error' && /no handler found/.test(e.message),
    );
    await assert.rejects(
      kit.create(fx.named, { handler: 'third' }),
      (e: unknown) => isNimbusError(e) && e.code === 'function_error' && /third/.test(e.message),
    );
  });

  if (node) {
    it('reports process.exit(3) as function_crashed and the sandbox dead', { timeout }, async () => {
      const sandbox = await kit.create(fx.faults, { handler: 'exit' });
      errorOf(await kit.invoke(sandbox, event({})), 'function_crashed');
      assert.equal(sandbox.state, 'dead');
      await assert.rejects(kit.invoke(sandbox, event({})), 'a dead sandbox refuses calls');
    });
  } else {
    it("reports process.exit as function_error: the isolate's process holds only env", { timeout }, async () => {
      const sandbox = await kit.create(fx.faults, { handler: 'exit' });
      errorOf(await kit.invoke(sandbox, event({})), 'function_error');
      assert.equal(sandbox.state, 'ready');
      errorOf(await kit.invoke(sandbox, event({})), 'function_error');
    });
  }
});
