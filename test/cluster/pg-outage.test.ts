// PostgreSQL unreachable: the front end reaches the database through a TCP
// proxy the test cuts. While cut, every call that needs the database answers
// 503 fast and nothing is acknowledged (no 202) that the store did not keep; a
// warm sync call of a function the front end has cached still runs (it needs
// no database row there, and the invoker's connection is not cut); when the
// proxy is back, the same front end works again by itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster } from './cluster.ts';
import { call, deploy, invoke, settled } from './http.ts';
import { sharedBusUrl } from './shared-nats.ts';
import { TcpProxy } from './tcp-proxy.ts';

const FAST_MS = 3000;

describe('cluster: the database goes away and comes back', async () => {
  const store = await createTestDatabase();
  const target = new URL(store);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  after(() => proxy.close());
  const viaProxy = new URL(store);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const bus = sharedBusUrl({ presence_ttl: 3000, heartbeat: 500 });
  const c = startCluster(bus, store);
  const feCluster = startCluster(bus, viaProxy.toString());
  let fe: string;

  before(async () => {
    await c.startInvoker('inv-1');
    fe = (await feCluster.startFrontEnd()).url;
    assert.equal((await deploy(fe, 'echo', 'exports.handler = async (e) => e')).status, 201);
    assert.equal((await invoke(fe, 'echo', { up: 1 })).status, 200);
  });

  it('answers 503 fast while cut, acknowledges nothing it did not store, and recovers by itself', async () => {
    await proxy.cut();
    const acknowledged: string[] = [];
    const timed = async (what: string, p: Promise<{ status: number; json: any }>) => {
      const started = Date.now();
      const r = await p;
      const ms = Date.now() - started;
      assert.equal(r.status, 503, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'unavailable');
      assert.ok(ms < FAST_MS, `${what} took ${ms} ms`);
      return r;
    };
    const warm = await invoke(fe, 'echo', { down: 1 });
    assert.equal(warm.status, 200, `a cached function runs without the front end's database: ${warm.text}`);
    await timed('health', call(fe, 'GET', '/healthz'));
    await timed('deploy', deploy(fe, 'other', 'exports.handler = async () => 1'));
    await timed('function list', call(fe, 'GET', '/v1/functions'));
    for (let i = 0; i < 10; i++) {
      const r = await invoke(fe, 'echo', { i }, '?async=1', { 'idempotency-key': `outage-${i}` });
      if (r.status === 202) acknowledged.push(r.json.activationId);
      else await timed(`async invoke ${i}`, Promise.resolve(r));
    }
    assert.deepEqual(acknowledged, [], 'no 202 while the store is unreachable');
    const count = async (sql: string, args: unknown[] = []) => {
      const db = new pg.Client({ connectionString: store });
      await db.connect();
      try {
        return (await db.query<{ n: number }>(sql, args)).rows[0]?.n;
      } finally {
        await db.end();
      }
    };
    assert.equal(
      await count("SELECT count(*)::int AS n FROM async_queue WHERE idempotency_key LIKE 'outage-%'"),
      0,
      'nothing was stored for the refused calls',
    );

    await proxy.restore();
    const end = Date.now() + 15_000;
    let health = await call(fe, 'GET', '/healthz');
    while (health.status !== 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      health = await call(fe, 'GET', '/healthz');
    }
    assert.equal(health.status, 200, 'healthy again without a restart');
    assert.deepEqual((await invoke(fe, 'echo', { back: true })).json, { back: true });
    const a = await invoke(fe, 'echo', { later: 1 }, '?async=1', { 'idempotency-key': 'outage-0' });
    assert.equal(a.status, 202);
    assert.equal((await settled(fe, a.json.activationId)).status, 'success');
    assert.equal(await count('SELECT count(*)::int AS n FROM activations WHERE id = $1', [a.json.activationId]), 1);
  });
});
