// Aliases in cluster mode, with real processes: two front ends and one invoker
// on NATS and PostgreSQL. An alias made or moved through one front end holds
// at once on the other (aliases are read from the store per call), sync and
// async, and an old version runs on the invoker while it is not the newest.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { testCluster } from '../cluster/cluster.ts';
import { call, deploy, invoke, settled } from '../cluster/http.ts';

const code = (gen: number) =>
  `exports.handler = async (event, context) => ({ v: Number(context.functionVersion), gen: ${gen} });`;

describe('aliases across front ends (cluster)', async () => {
  const c = await testCluster();
  let fe1: string;
  let fe2: string;

  before(async () => {
    [fe1, fe2] = (await c.startNodes({ 'inv-a': [] })) as [string, string];
    for (const gen of [1, 2]) assert.equal((await deploy(fe1, 'shop', code(gen))).json.version, gen);
  });

  it('sees an alias move made through the other front end at once', { timeout: 120_000 }, async () => {
    const made = await call(fe1, 'PUT', '/v1/functions/shop/aliases/prod', { version: 1 });
    assert.equal(made.status, 201, made.text);
    const first = await invoke(fe2, 'shop:prod');
    assert.deepEqual(first.json, { v: 1, gen: 1 }, `${first.text}\n${c.logs()}`);
    assert.equal(first.headers.get('x-nimbus-alias'), 'prod');
    assert.deepEqual((await invoke(fe2, 'shop')).json, { v: 2, gen: 2 });

    assert.equal((await call(fe2, 'PUT', '/v1/functions/shop/aliases/prod', { version: 2 })).status, 200);
    assert.deepEqual((await invoke(fe1, 'shop:prod')).json, { v: 2, gen: 2 }, 'moved on fe2, seen by fe1');
    assert.equal((await call(fe1, 'PUT', '/v1/functions/shop/aliases/prod', { version: 1 })).status, 200);
    assert.deepEqual((await invoke(fe2, 'shop:prod')).json, { v: 1, gen: 1 }, 'rolled back on fe1, seen by fe2');

    const queued = await invoke(fe2, 'shop:prod', {}, '?async=1');
    assert.equal(queued.status, 202, queued.text);
    const done = await settled(fe1, queued.json.activationId);
    assert.equal(done.status, 'success', JSON.stringify(done));
    assert.equal(done.alias, 'prod');
    assert.equal(done.functionVersion, 1);

    const warm = await invoke(fe1, 'shop:prod');
    assert.equal(warm.headers.get('x-nimbus-cold-start'), 'false', 'the old version stays warm on the invoker');
    const refused = await call(fe2, 'DELETE', '/v1/functions/shop/versions/1');
    assert.equal(refused.status, 409);
    assert.match(refused.json.error.message, /alias "prod"/);
  });
});
