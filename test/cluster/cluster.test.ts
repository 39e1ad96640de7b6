// Cluster mode with real processes: two front ends and two invokers joined by
// NATS (the shared server, a namespace of this run) and PostgreSQL (a database
// of this run). Deploy through one front end, invoke through the other, sync
// and async; warm affinity; redeploys and deletes reach the invokers; a
// full home invoker overflows to the other; a killed invoker does not break
// sync calls.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { testCluster, type Cluster } from './cluster.ts';
import { call, deploy, invoke, settled } from './http.ts';
import { processesOf } from '../../src/sandbox/process/jailed-agent.ts';

/** Whether a process sandbox still runs: each runs as its own host uid (its pid is 2 in its own pid namespace). */
const alive = async (uid: number) => (await processesOf(uid)).length > 0;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cluster: two front ends, two invokers', async () => {
  const c: Cluster = await testCluster();
  let fe1: string;
  let fe2: string;

  before(async () => {
    [fe1, fe2] = (await c.startNodes({ 'inv-a': ['--slots', '2'], 'inv-b': ['--slots', '2'] })) as [string, string];
  });

  it('deploys through one front end and invokes warm through the other, sync and async', async () => {
    const code = `let calls = 0; exports.handler = async (e) => ({ hi: e.name, calls: ++calls, uid: process.getuid() });`;
    assert.equal((await deploy(fe1, 'greet', code)).status, 201);
    const first = await invoke(fe2, 'greet', { name: 'ada' });
    assert.equal(first.status, 200, `${first.text}\n${c.logs()}`);
    assert.equal(first.headers.get('x-nimbus-cold-start'), 'true');
    const second = await invoke(fe2, 'greet', { name: 'bob' });
    assert.equal(second.headers.get('x-nimbus-cold-start'), 'false', 'the second call lands on the warm sandbox');
    assert.equal(second.json.calls, 2);
    assert.equal(second.json.uid, first.json.uid);
    const [r1, r2] = await Promise.all(
      [first, second].map((r) => call(fe1, 'GET', `/v1/activations/${r.headers.get('x-nimbus-activation-id')}`)),
    );
    assert.equal(r1?.json.invoker, r2?.json.invoker, 'same invoker in both records');
    assert.ok(['inv-a', 'inv-b'].includes(r1?.json.invoker));
    assert.equal(r1?.json.sandboxId, r2?.json.sandboxId);

    const headers = { 'idempotency-key': 'order-17' };
    const a1 = await invoke(fe1, 'greet', { name: 'async' }, '?async=1', headers);
    const a2 = await invoke(fe2, 'greet', { name: 'async' }, '?async=1', headers);
    assert.equal(a1.status, 202, a1.text);
    assert.deepEqual(a2.json, { activationId: a1.json.activationId, duplicate: true });
    const done = await settled(fe2, a1.json.activationId);
    assert.equal(done.status, 'success');
    assert.equal(done.invoker, r1?.json.invoker, 'async runs go to the same home invoker');
    assert.equal(done.result.hi, 'async');
  });

  it('serves a redeploy made through the other front end, and a delete drops the warm sandbox on the invoker', async () => {
    assert.equal(
      (await deploy(fe1, 'shift', 'exports.handler = async () => ({ v: 1, uid: process.getuid() })')).status,
      201,
    );
    const v1 = await invoke(fe2, 'shift');
    assert.equal(v1.json.v, 1);
    assert.equal(
      (await deploy(fe2, 'shift', 'exports.handler = async () => ({ v: 2, uid: process.getuid() })')).json.version,
      2,
    );
    const v2 = await invoke(fe1, 'shift');
    assert.equal(v2.json.v, 2);
    assert.equal(v2.headers.get('x-nimbus-function-version'), '2');
    assert.ok(await alive(v2.json.uid));
    assert.equal((await call(fe1, 'DELETE', '/v1/functions/shift')).status, 200);
    await until(
      `sandbox process of uid ${v2.json.uid} of the deleted function exits`,
      async () => !(await alive(v2.json.uid)),
    );
    assert.equal((await invoke(fe2, 'shift')).status, 404);
  });

  it('says clearly that sandboxes are managed on invoker nodes, not on a front end', async () => {
    assert.equal((await deploy(fe1, 'plain', 'exports.handler = async () => 1')).status, 201);
    const r = await call(fe1, 'POST', '/v1/functions/plain/sandboxes');
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'not_supported');
    assert.deepEqual((await call(fe2, 'GET', '/v1/sandboxes')).json, { sandboxes: [] });
  });

  it('dead-letters an async call whose function keeps failing, after its retries', async () => {
    assert.equal(
      (await deploy(fe1, 'fails', 'exports.handler = async () => { throw new Error("nope"); }')).status,
      201,
    );
    const a = await invoke(fe2, 'fails', {}, '?async=1');
    const done = await settled(fe1, a.json.activationId, 30_000, 'dead_letter');
    assert.equal(done.status, 'dead_letter');
    assert.equal(done.attempts, 3);
    assert.match(done.error.message, /nope/);
  });

  it('overflows to the other invoker when the home one is full', async () => {
    const code =
      'exports.handler = async () => { await new Promise((r) => setTimeout(r, 400)); return { pid: process.pid }; };';
    assert.equal((await deploy(fe1, 'busy', code)).status, 201);
    const first = await invoke(fe1, 'busy');
    const home = (await call(fe1, 'GET', `/v1/activations/${first.headers.get('x-nimbus-activation-id')}`)).json
      .invoker as string;
    const burst = await Promise.all(Array.from({ length: 6 }, () => invoke(fe1, 'busy')));
    const where = await Promise.all(
      burst.map((r) =>
        call(fe1, 'GET', `/v1/activations/${r.headers.get('x-nimbus-activation-id')}`).then(
          (a) => a.json.invoker as string,
        ),
      ),
    );
    assert.ok(burst.every((r) => r.status === 200));
    const away = where.filter((w) => w !== home).length;
    assert.ok(
      away > 0 && away < 6,
      `some calls overflow, the home keeps its share: ${where.join(', ')} (home ${home})`,
    );
  });

  it('keeps answering sync calls when the home invoker is killed', async () => {
    assert.equal((await deploy(fe1, 'sturdy', 'exports.handler = async () => ({ pid: process.pid })')).status, 201);
    const first = await invoke(fe1, 'sturdy');
    const home = (await call(fe1, 'GET', `/v1/activations/${first.headers.get('x-nimbus-activation-id')}`)).json
      .invoker as string;
    await c.invokers.get(home)?.kill('SIGKILL');
    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      const r = await invoke(i % 2 ? fe1 : fe2, 'sturdy');
      assert.equal(r.status, 200, r.text);
      const rec = await call(fe1, 'GET', `/v1/activations/${r.headers.get('x-nimbus-activation-id')}`);
      assert.notEqual(rec.json.invoker, home);
    }
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  });
});
