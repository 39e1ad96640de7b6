// Quotas in cluster mode, with real processes (two front ends, one invoker,
// NATS and PostgreSQL): invocationsPerMinute and maxConcurrent count across
// both front ends, and the slot of a call whose front end was killed comes
// back once its lease expires.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { LEASE_MS } from '../../src/tenancy/quotas-sql.ts';
import { startCluster, type Cluster, type FrontEnd } from '../cluster/cluster.ts';
import { call, deploy, invoke, type Reply } from '../cluster/http.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { createTestDatabase } from '../storage/pg-database.ts';

const CODE = `exports.handler = async (e) => {
  await new Promise((r) => setTimeout(r, Number(e.ms ?? 0)));
  return { ok: true };
};`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('quotas across two front ends (cluster)', async () => {
  const c: Cluster = startCluster(sharedBusUrl(), await createTestDatabase());
  let fe1: FrontEnd;
  let fe2: FrontEnd;
  const as = (ns: string) => ({ 'x-nimbus-namespace': ns });
  const throttled = (r: Reply, quota: string, ns: string) => {
    assert.equal(r.status, 429, `${r.text}\n${c.logs()}`);
    assert.ok(r.json.error.message.includes(quota) && r.json.error.message.includes(`"${ns}"`), r.text);
    assert.ok(Number(r.headers.get('retry-after')) >= 1, `Retry-After ${r.headers.get('retry-after')}`);
  };
  const running = async (fe: FrontEnd, ns: string) =>
    (await call(fe.url, 'GET', `/v1/namespaces/${ns}`)).json.usage.running as number;

  before(async () => {
    await c.startInvoker('inv-q', ['--slots', '4']);
    [fe1, fe2] = (await Promise.all([c.startFrontEnd(), c.startFrontEnd()])) as [FrontEnd, FrontEnd];
    for (const [name, quotas] of [
      ['rate-c', { invocationsPerMinute: 4 }],
      ['conc-c', { maxConcurrent: 1 }],
    ] as const) {
      const r = await call(fe1.url, 'POST', '/v1/namespaces', { name, quotas });
      assert.equal(r.status, 201, r.text);
      const d = await call(fe1.url, 'PUT', '/v1/functions/fn', { runtime: 'nodejs', code: CODE }, as(name));
      assert.equal(d.status, 201, d.text);
    }
    assert.equal((await deploy(fe1.url, 'free', CODE)).status, 201);
  });

  it('invocationsPerMinute counts the calls of both front ends together', async () => {
    // Fixed minute windows: start early enough in a minute that the test ends in it.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await sleep(left + 100);
    for (const fe of [fe1, fe2, fe1, fe2]) {
      const r = await invoke(fe.url, 'fn', {}, '', as('rate-c'));
      assert.equal(r.status, 200, `${r.text}\n${c.logs()}`);
    }
    throttled(await invoke(fe2.url, 'fn', {}, '', as('rate-c')), 'invocationsPerMinute', 'rate-c');
    throttled(await invoke(fe1.url, 'fn', {}, '', as('rate-c')), 'invocationsPerMinute', 'rate-c');
    throttled(await invoke(fe1.url, 'fn', {}, '?async=1', as('rate-c')), 'invocationsPerMinute', 'rate-c');
    const fn = await call(fe2.functionsUrl, 'GET', '/fn/fn', undefined, as('rate-c'));
    throttled(fn, 'invocationsPerMinute', 'rate-c');
    assert.equal((await invoke(fe2.url, 'free')).status, 200, 'the default namespace has no quota');
    const shown = await call(fe2.url, 'GET', '/v1/namespaces/rate-c');
    assert.equal(shown.json.usage.invocationsThisMinute, 4, shown.text);
  });

  it('maxConcurrent counts the executions of both front ends together, and frees the slot when a call ends', async () => {
    const slow = invoke(fe1.url, 'fn', { ms: 3000 }, '', as('conc-c'));
    for (let i = 0; (await running(fe2, 'conc-c')) < 1; i++) {
      assert.ok(i < 100, 'the slow call started');
      await sleep(50);
    }
    throttled(await invoke(fe2.url, 'fn', {}, '', as('conc-c')), 'maxConcurrent', 'conc-c');
    throttled(await invoke(fe1.url, 'fn', {}, '', as('conc-c')), 'maxConcurrent', 'conc-c');
    assert.equal((await slow).status, 200);
    assert.equal(await running(fe2, 'conc-c'), 0);
    assert.equal((await invoke(fe2.url, 'fn', {}, '', as('conc-c'))).status, 200, 'the slot is free again');
  });

  it("the slot of a killed front end's call comes back when its lease expires", async () => {
    void invoke(fe1.url, 'fn', { ms: 5000 }, '', as('conc-c')).catch(() => undefined);
    for (let i = 0; (await running(fe2, 'conc-c')) < 1; i++) {
      assert.ok(i < 100, 'the call started');
      await sleep(50);
    }
    await fe1.proc.kill('SIGKILL');
    const killedAt = Date.now();
    throttled(await invoke(fe2.url, 'fn', {}, '', as('conc-c')), 'maxConcurrent', 'conc-c');
    let r: Reply;
    while ((r = await invoke(fe2.url, 'fn', {}, '', as('conc-c'))).status === 429) {
      assert.ok(Date.now() - killedAt < LEASE_MS + 10_000, 'the lease expired');
      await sleep(1000);
    }
    assert.equal(r.status, 200, r.text);
    assert.ok(Date.now() - killedAt >= 5_000, 'not before the killed call would have ended');
  });
});
