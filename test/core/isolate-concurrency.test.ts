// The isolate engine's default concurrency (platform option
// defaults.isolateConcurrency, 16): an isolate function that does not say
// runs many calls at once in one isolate, as Workers does; one that says
// concurrency 1 gets a sandbox per call at once, and the other engines keep
// defaults.concurrency (1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const SLOW =
  'export const handler = async () => { await new Promise((r) => setTimeout(r, 400)); return { ok: true }; };';
const CALLS = 6;

describe('isolate engine: default concurrency', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t?.close());

  const concurrencyOf = async (name: string) =>
    (await t.request('GET', `/v1/functions/${name}`)).json.config.concurrency;
  /** Warms the function, then runs CALLS calls at once: the sandboxes that served them. */
  const sandboxesServing = async (name: string) => {
    assert.equal((await t.invoke(name)).status, 200);
    const calls = await Promise.all(Array.from({ length: CALLS }, () => t.invoke(name)));
    const ids = new Set<string>();
    for (const c of calls) {
      assert.equal(c.status, 200, c.text);
      const record = await t.request('GET', `/v1/activations/${c.headers.get('x-nimbus-activation-id')}`);
      ids.add(record.json.sandboxId);
    }
    return ids.size;
  };

  it('is 16 for isolate functions that do not say, and 1 for those that say 1 and for other engines', async () => {
    for (const [name, config] of [
      ['iso', { engine: 'isolate' }],
      ['iso-one', { engine: 'isolate', concurrency: 1 }],
      ['proc', {}],
    ] as const)
      assert.equal((await t.deploy(name, SLOW, config)).status, 201);
    assert.deepEqual(
      [await concurrencyOf('iso'), await concurrencyOf('iso-one'), await concurrencyOf('proc')],
      [16, 1, 1],
    );
  });

  it('runs calls at once in one isolate by default; concurrency 1 takes a sandbox per call', async () => {
    assert.equal(await sandboxesServing('iso'), 1);
    assert.equal(await sandboxesServing('iso-one'), CALLS);
  });
});
