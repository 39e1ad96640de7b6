// VM operations through the API: create (pre-warm), list,
// resize, migrate and delete sandboxes; engines that cannot do an operation
// answer 409 not_supported with the reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('sandbox operations API', () => {
  let t: TestPlatform;
  let engines: Record<string, { available: boolean; reason: string }>;
  before(async () => {
    t = await startTestPlatform();
    engines = (await t.request('GET', '/v1/engines')).json.engines;
  });
  after(() => t.close());

  const mine = async (fn: string) =>
    (
      (await t.request('GET', '/v1/sandboxes')).json.sandboxes as {
        id: string;
        functionName: string;
        memoryMb: number;
      }[]
    ).filter((s) => s.functionName === fn);

  it('creates, lists and deletes a pre-warmed sandbox; the next call is warm', async () => {
    await t.deploy('ops', 'let n = 0; exports.handler = async () => ++n');
    const created = await t.request('POST', '/v1/functions/ops/sandboxes');
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.engine, 'process');
    assert.deepEqual(
      (await mine('ops')).map((s) => s.id),
      [created.json.id],
    );
    const r = await t.invoke('ops');
    assert.equal(r.headers.get('x-nimbus-cold-start'), 'false');
    assert.equal((await t.request('DELETE', `/v1/sandboxes/${created.json.id}`)).status, 200);
    assert.deepEqual(await mine('ops'), []);
    assert.equal((await t.request('DELETE', `/v1/sandboxes/${created.json.id}`)).status, 404);
  });

  it('knows whether a function is warm here (an invoker node runs its queued calls itself only then)', async () => {
    const invoker = t.platform.invoker;
    assert.ok(invoker);
    await t.deploy('warmth', 'exports.handler = async () => 1');
    assert.equal(invoker.warm('warmth'), false, 'never called');
    assert.equal((await t.invoke('warmth')).status, 200);
    assert.equal(invoker.warm('warmth'), true, 'its sandbox is kept warm');
    await t.deploy('warmth', 'exports.handler = async () => 2');
    assert.equal(invoker.warm('warmth'), false, 'redeployed: the new version has no sandbox yet');
    assert.equal((await t.invoke('warmth')).status, 200);
    assert.equal(invoker.warm('warmth'), true);
    for (const s of await mine('warmth')) await t.request('DELETE', `/v1/sandboxes/${s.id}`);
    assert.equal(invoker.warm('warmth'), false, 'its sandboxes deleted');
  });

  it('answers 409 with the reason when the engine cannot resize or migrate', async () => {
    const { json } = await t.request('POST', '/v1/functions/ops/sandboxes');
    const resize = await t.request('PATCH', `/v1/sandboxes/${json.id}`, { memoryMb: 512 });
    assert.equal(resize.status, 409);
    assert.equal(resize.json.error.code, 'not_supported');
    assert.match(resize.json.error.message, /cannot resize a process sandbox: .*heap limit/);
    const migrate = await t.request('POST', `/v1/sandboxes/${json.id}/migrate`, {});
    assert.equal(migrate.status, 409);
    assert.equal(migrate.json.error.code, 'not_supported');
    assert.match(migrate.json.error.message, /cannot migrate a process sandbox/);
    const bad = await t.request('PATCH', `/v1/sandboxes/${json.id}`, { memory: 1 });
    assert.equal(bad.status, 400);
  });

  it('resizes a container sandbox live', async (ctx) => {
    if (!engines.container?.available)
      return ctx.skip(`container engine unavailable here: ${engines.container?.reason}`);
    await t.deploy('growing', 'exports.handler = async () => "ok"', { engine: 'container', memoryMb: 128 });
    const { json } = await t.request('POST', '/v1/functions/growing/sandboxes');
    const r = await t.request('PATCH', `/v1/sandboxes/${json.id}`, { memoryMb: 256 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.before.memoryMb, r.json.after.memoryMb], [128, 256]);
    assert.equal((await mine('growing'))[0]?.memoryMb, 256);
    assert.equal((await t.invoke('growing')).status, 200);
  });

  it('live-migrates a microVM sandbox and its module state continues', { timeout: 600_000 }, async (ctx) => {
    if (!engines.microvm?.available) return ctx.skip(`microvm engine unavailable here: ${engines.microvm?.reason}`);
    // One sandbox (maxSandboxes 1): a spare the autoscaler starts beside the slow first call would
    // answer the next call with a counter of its own.
    await t.deploy('mover', 'let n = 0; exports.handler = async () => ++n', {
      engine: 'microvm',
      timeoutMs: 60_000,
      maxSandboxes: 1,
    });
    const first = await t.invoke('mover');
    assert.equal(first.json, 1);
    const record = (await t.request('GET', `/v1/activations/${first.headers.get('x-nimbus-activation-id')}`)).json;
    assert.match(record.engineDetails.accelerator, /^(kvm|tcg)$/, 'the record says which accelerator ran the function');
    assert.ok(record.engineDetails.acceleratorReason.length > 0);
    const [sb] = await mine('mover');
    const m = await t.request('POST', `/v1/sandboxes/${sb?.id}/migrate`, {});
    assert.equal(m.status, 200, m.text);
    assert.ok(m.json.totalMs > 0);
    const next = await t.invoke('mover');
    assert.equal(next.json, 2, 'the counter continued after migration');
    assert.equal(next.headers.get('x-nimbus-cold-start'), 'false');
  });
});
