// Hostile functions on every engine: each gets the right outcome in its
// activation record, a concurrent hello on the same platform still succeeds,
// and afterwards nothing is left behind (process, sandbox, temp file).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINE_KINDS, type EngineKind } from '../../src/sandbox/driver.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { HOSTILE_CASES } from './cases.ts';
import { leaksSince, pidAlive, removeRootWrites, snapshot } from './leaks.ts';

const SLOWNESS: Record<EngineKind, number> = { process: 1, isolate: 1, container: 2, microvm: 10 };

let t: TestPlatform;
let engines: Record<string, { available: boolean; reason: string; capabilities?: Record<string, true | string> }> = {};
before(async () => {
  t = await startTestPlatform();
  engines = (await t.request('GET', '/v1/engines')).json.engines;
});
after(async () => {
  await t.close();
  await removeRootWrites();
});

for (const engine of ENGINE_KINDS) {
  describe(`hostile functions on ${engine}`, () => {
    const hello = `hello-${engine}`;
    const ready = () => engines[engine]?.available === true;

    it('has a hello function to run beside each case', async (ctx) => {
      if (!ready()) return ctx.skip(`engine unavailable here: ${engines[engine]?.reason}`);
      const d = await t.deploy(hello, 'exports.handler = async () => "hello"', { engine, maxSandboxes: 2 });
      assert.ok(d.status === 201 || d.status === 200, d.text);
      assert.equal((await t.invoke(hello)).status, 200);
    });

    for (const [i, c] of HOSTILE_CASES.entries()) {
      it(c.name, { timeout: 180_000 * SLOWNESS[engine] }, async (ctx) => {
        if (!ready()) return ctx.skip(`engine unavailable here: ${engines[engine]?.reason}`);
        const refused = c.refuseOn?.[engine];
        if (refused) {
          // Not run, because it would harm the host: the engine must declare the limitation.
          const caps = engines[engine]?.capabilities ?? {};
          assert.ok(
            Object.values(caps).some((v) => typeof v === 'string'),
            `${engine} must declare what it cannot contain (${refused})`,
          );
          return;
        }
        const name = `hostile-${engine}-${i}`;
        await removeRootWrites(); // what an earlier process-engine case was allowed to write
        const host = await snapshot();
        const d = await t.deploy(name, c.code, {
          engine,
          timeoutMs: 10_000 * SLOWNESS[engine],
          ...c.config,
          ...(c.config?.timeoutMs ? { timeoutMs: Number(c.config.timeoutMs) * SLOWNESS[engine] } : {}),
        });
        assert.ok(d.status === 201 || d.status === 200, d.text);
        const hostile = t.invoke(name);
        const helloCall = new Promise((r) => setTimeout(r, 300)).then(() => t.invoke(hello));
        const [r, h] = await Promise.all([hostile, helloCall]);
        assert.equal(h.status, 200, `a concurrent hello failed: ${h.text.slice(0, 300)}`);
        const id = r.headers.get('x-nimbus-activation-id');
        assert.ok(id, `no activation id: ${r.status} ${r.text.slice(0, 300)}`);
        const record = (await t.request('GET', `/v1/activations/${id}`)).json;
        c.check(engine, { status: r.status, body: r.json, record });

        const sandboxes = (
          (await t.request('GET', '/v1/sandboxes')).json.sandboxes as {
            functionName: string;
            details: { pid?: number };
          }[]
        ).filter((s) => s.functionName === name);
        assert.equal((await t.request('DELETE', `/v1/functions/${name}`)).status, 200);
        const left = ((await t.request('GET', '/v1/sandboxes')).json.sandboxes as { functionName: string }[]).filter(
          (s) => s.functionName === name,
        );
        assert.deepEqual(left, [], 'sandboxes of a deleted function are gone');
        for (const s of sandboxes)
          if (typeof s.details.pid === 'number')
            assert.equal(pidAlive(s.details.pid), false, `sandbox pid ${s.details.pid} still runs`);
        assert.deepEqual(await leaksSince(host), [], 'nothing leaked');
        assert.equal((await t.invoke(hello)).status, 200, 'the platform still serves');
      });
    }
  });
}
