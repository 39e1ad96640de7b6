// Conformance, environment: spec.env reaches the function in every handler
// style (process.env for Lambda and main: Node's own on Node engines, a frozen
// `process` holding only `env` in the isolate engine; the `env` argument for
// fetch) and the host's own environment does not.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { forEachDriver } from './matrix.ts';
import { useFixtures } from './functions.ts';
import { event, responseOf, valueOf } from './kit.ts';

const fx = await useFixtures(['env']);

const env = { NIMBUS_CONFORMANCE_GREETING: 'hello from spec.env' };
/** Set in the host (test) process only: no sandbox may see it. */
const HOST_ONLY = 'NIMBUS_CONFORMANCE_HOST_ONLY';
before(() => void (process.env[HOST_ONLY] = 'host secret'));
after(() => void delete process.env[HOST_ONLY]);

const seen = { NIMBUS_CONFORMANCE_GREETING: env.NIMBUS_CONFORMANCE_GREETING, [HOST_ONLY]: null };

await forEachDriver(({ kit, ms }) => {
  const timeout = ms(60_000);

  it('hands spec.env to a Lambda handler through process.env, not the host environment', { timeout }, async () => {
    const sandbox = await kit.create(fx.env, { handler: 'handler', env });
    assert.deepEqual(valueOf(await kit.invoke(sandbox, event({}))), seen);
  });

  it('hands spec.env to an OpenWhisk main through process.env, not the host environment', { timeout }, async () => {
    const sandbox = await kit.create(fx.env, { handler: 'main', env });
    assert.deepEqual(valueOf(await kit.invoke(sandbox, event({}))), seen);
  });

  it('hands spec.env to a Workers fetch as its env argument, and nothing else', { timeout }, async () => {
    const sandbox = await kit.create(fx.env, { env });
    assert.deepEqual(JSON.parse(responseOf(await kit.invoke(sandbox, event({}))).body), seen);
  });
});
