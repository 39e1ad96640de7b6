// The activation records policy (function config `records`) on a real
// platform: "errors" keeps every failure and no successful sync call (GET of
// its x-nimbus-activation-id is a 404), an async call's record is kept either
// way, a sample keeps its share of successes within a binomial bound, and
// /metrics counts every call whatever is kept. A caller that records the
// outcome with its own bookkeeping (the async scheduler) has the invoker store nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newActivationId } from '../../src/scheduler/async-scheduler.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const CODE = 'exports.handler = async (e) => { if (e.fail) throw new Error("asked to fail"); return e.n ?? 0; };';

describe('activation records policy', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  const kept = async (name: string) =>
    (await t.request('GET', `/v1/activations?function=${name}&limit=1000`)).json.activations as {
      id: string;
      status: string;
    }[];

  it('"errors" keeps every failure and no successful sync call; counts still reach /metrics', async () => {
    assert.equal((await t.deploy('onlyerr', CODE, { records: 'errors' })).status, 201);
    const ids = { ok: [] as string[], failed: [] as string[] };
    for (let i = 0; i < 20; i++) {
      const r = await t.invoke('onlyerr', { fail: i % 2 === 1, n: i });
      const id = r.headers.get('x-nimbus-activation-id');
      assert.ok(id, 'the response names its activation either way');
      (i % 2 ? ids.failed : ids.ok).push(id);
      assert.equal(r.status, i % 2 ? 502 : 200, r.text);
    }
    const stored = await kept('onlyerr');
    assert.deepEqual(stored.map((a) => a.id).sort(), [...ids.failed].sort());
    assert.equal((await t.request('GET', `/v1/activations/${ids.ok[0]}`)).status, 404);
    const m = (await t.request('GET', '/metrics')).text;
    const successes = m.match(/nimbus_invocations_total\{function="onlyerr",status="success",[^}]*\} (\d+)/g) ?? [];
    const total = successes.reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    assert.equal(total, 10, 'every success counted');
    // An async call's record is how its caller learns the outcome: kept, success or not.
    const accepted = await t.invoke('onlyerr', { n: 7 }, '?async=1');
    assert.equal(accepted.status, 202, accepted.text);
    const record = await t.settled(accepted.json.activationId);
    assert.equal(record.status, 'success');
    assert.equal(record.result, 7);
  });

  it('an invoker whose caller records the outcome itself (the async scheduler) returns it and stores nothing', async () => {
    assert.equal((await t.deploy('byscheduler', CODE)).status, 201);
    const invoker = t.platform.invoker;
    assert.ok(invoker);
    const fn = await t.platform.store.getFunction('byscheduler');
    assert.ok(fn);
    const run = (callerRecords: boolean) =>
      invoker.run({
        activationId: newActivationId(),
        functionName: fn.name,
        functionVersion: fn.version,
        trigger: 'async',
        input: { kind: 'event', event: { n: 3 } },
        acceptedAt: Date.now(),
        attempt: 1,
        createdAt: new Date().toISOString(),
        callerRecords,
      });
    const theirs = await run(true);
    assert.equal(theirs.activation.status, 'success');
    assert.equal(theirs.activation.result, 3, 'the outcome is in the reply');
    assert.equal((await t.request('GET', `/v1/activations/${theirs.activation.id}`)).status, 404, 'not stored');
    const mine = await run(false);
    assert.equal(
      (await t.request('GET', `/v1/activations/${mine.activation.id}`)).status,
      200,
      'stored by the invoker',
    );
  });

  it('{sample: 0.1} keeps about a tenth of 1000 successes and every failure', async () => {
    assert.equal((await t.deploy('sampled', CODE, { records: { sample: 0.1 } })).status, 201);
    for (let i = 0; i < 1000; i += 4) await Promise.all([0, 1, 2, 3].map((j) => t.invoke('sampled', { n: i + j })));
    for (let i = 0; i < 5; i++) assert.equal((await t.invoke('sampled', { fail: true })).status, 502);
    const stored = await kept('sampled');
    const successes = stored.filter((a) => a.status === 'success').length;
    // Binomial(1000, 0.1): mean 100, sd 9.5; 60..140 is beyond four sd either side.
    assert.ok(successes >= 60 && successes <= 140, `kept ${successes} of 1000 successes`);
    assert.equal(stored.length - successes, 5, 'every failure kept');
  });

  it('stores targetConcurrency, keepAlive and records only when they differ from the defaults', async () => {
    const plain = await t.deploy('cfg', CODE, {
      concurrency: 4,
      targetConcurrency: 4,
      keepAlive: 'adaptive',
      records: 'all',
    });
    assert.equal(plain.status, 201, plain.text);
    const stored = (await t.request('GET', '/v1/functions/cfg')).json.config;
    for (const key of ['targetConcurrency', 'keepAlive', 'records']) assert.equal(key in stored, false, key);
    const again = await t.deploy('cfg', CODE, { concurrency: 4 });
    assert.equal(plain.json.version, 1);
    assert.equal(again.json.version, plain.json.version, 'the same config as one that does not name them');
    const tuned = await t.deploy('cfg', CODE, {
      concurrency: 4,
      targetConcurrency: 2,
      keepAlive: 30_000,
      records: { sample: 0.5 },
    });
    assert.equal(tuned.status, 200, tuned.text);
    const config = (await t.request('GET', '/v1/functions/cfg')).json.config;
    assert.deepEqual([config.targetConcurrency, config.keepAlive, config.records], [2, 30_000, { sample: 0.5 }]);
  });

  it('refuses a records or keepAlive value it does not know, naming the choices', async () => {
    const bad = await t.deploy('badrec', CODE, { records: { sample: 2 } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /records/);
    const ka = await t.deploy('badrec', CODE, { keepAlive: 'forever' });
    assert.equal(ka.status, 400);
    assert.match(ka.json.error.message, /keepAlive must be "adaptive" or a number of ms/);
    const target = await t.deploy('badrec', CODE, { concurrency: 2, targetConcurrency: 3 });
    assert.equal(target.status, 400);
    assert.match(target.json.error.message, /targetConcurrency \(3\) is over concurrency \(2\)/);
    const low = await t.deploy('badrec', CODE, { targetConcurrency: 0.5 });
    assert.equal(low.status, 400);
    assert.match(low.json.error.message, /targetConcurrency must be at least 1/);
    assert.equal((await t.request('GET', '/v1/functions/badrec')).status, 404, 'nothing stored');
  });
});
