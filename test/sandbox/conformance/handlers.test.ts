// Conformance, handler styles: every driver runs Lambda, Workers (HTTP and
// event input) and OpenWhisk functions, and the `handler` option picks an export.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDriver } from './matrix.ts';
import { useFixtures } from './functions.ts';
import { event, httpRequest, responseOf, valueOf } from './kit.ts';

const fx = await useFixtures(['lambda', 'worker', 'openwhisk', 'named']);

await forEachDriver(({ kit, ms }) => {
  const timeout = ms(60_000);

  it('runs a Lambda handler(event, context)', { timeout }, async () => {
    const sandbox = await kit.create(fx.lambda);
    const timeoutMs = ms(10_000);
    const out = valueOf(await kit.invoke(sandbox, event({ answer: 42 }), timeoutMs)) as Record<string, unknown>;
    assert.deepEqual(out.event, { answer: 42 });
    assert.equal(out.functionName, sandbox.spec.functionName);
    assert.equal(typeof out.requestId, 'string');
    const remaining = out.remainingMs as number;
    assert.ok(
      remaining > 0 && remaining <= timeoutMs,
      `getRemainingTimeInMillis() gave ${remaining}, timeout ${timeoutMs}`,
    );
  });

  it('runs a Workers fetch(request) with an HTTP request', { timeout }, async () => {
    const sandbox = await kit.create(fx.worker);
    const input = httpRequest(
      'PUT',
      '/fn/echo/items/7?color=red',
      { 'x-conformance': 'yes', 'content-type': 'text/plain' },
      'hello body',
    );
    const res = responseOf(await kit.invoke(sandbox, input));
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-handled-by'], 'fetch');
    assert.deepEqual(JSON.parse(res.body), {
      method: 'PUT',
      path: '/fn/echo/items/7',
      query: '?color=red',
      header: 'yes',
      body: 'hello body',
    });
  });

  it('runs a Workers fetch(request) with an event, as a JSON POST', { timeout }, async () => {
    const sandbox = await kit.create(fx.worker);
    const res = responseOf(await kit.invoke(sandbox, event({ n: [1, 2] })));
    assert.equal(res.status, 201);
    const echo = JSON.parse(res.body) as { method: string; body: string };
    assert.equal(echo.method, 'POST');
    assert.deepEqual(JSON.parse(echo.body), { n: [1, 2] });
  });

  it('runs an OpenWhisk main(params)', { timeout }, async () => {
    const sandbox = await kit.create(fx.openwhisk);
    assert.deepEqual(valueOf(await kit.invoke(sandbox, event({ name: 'nimbus' }))), { greeting: 'hello nimbus' });
  });

  it('runs the export named by the handler option', { timeout }, async () => {
    const second = await kit.create(fx.named, { handler: 'second' });
    assert.deepEqual(valueOf(await kit.invoke(second, event('x'))), { chosen: 'second', event: 'x' });
    const dotted = await kit.create(fx.named, { handler: 'index.first' });
    assert.deepEqual(valueOf(await kit.invoke(dotted, event(null))), { chosen: 'first' });
  });
});
