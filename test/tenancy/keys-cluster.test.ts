// Keys in cluster mode: two front ends (real processes) on one PostgreSQL and
// NATS. A namespace and a key made through front end 1 work on front end 2; a
// key revoked through front end 1 is refused (401) by front end 2 on its very
// next request, though front end 2 had it cached (frontend/key-cache.ts), and
// so is a key of a namespace deleted through the other front end; the stored
// table holds the key's hash, never the key.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import pg from 'pg';
import { startCluster, type Cluster } from '../cluster/cluster.ts';
import { call } from '../cluster/http.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { createTestDatabase } from '../storage/pg-database.ts';

describe('keys across front ends', async () => {
  const store = await createTestDatabase();
  const c: Cluster = startCluster(sharedBusUrl(), store);
  let fe1: string;
  let fe2: string;

  before(async () => {
    [fe1, fe2] = (await Promise.all([c.startFrontEnd(), c.startFrontEnd()])).map((f) => f.url) as [string, string];
  });

  it('refuses a key revoked through front end 1 on front end 2 at once', async () => {
    assert.equal((await call(fe1, 'POST', '/v1/namespaces', { name: 'ops' })).status, 201);
    const made = await call(fe1, 'POST', '/v1/keys', { namespace: 'ops', role: 'reader' });
    assert.equal(made.status, 201, made.text);
    const auth = { authorization: `Bearer ${made.json.key}` };
    for (let i = 0; i < 3; i++) {
      const ok = await call(fe2, 'GET', '/v1/functions', undefined, auth);
      assert.equal(ok.status, 200, `${ok.text}\n${c.logs()}`);
    }
    const denied = await call(
      fe2,
      'PUT',
      '/v1/functions/x',
      { runtime: 'nodejs', code: 'exports.handler=()=>1' },
      auth,
    );
    assert.equal(denied.status, 403, 'a reader cannot deploy on any front end');
    assert.equal((await call(fe1, 'DELETE', `/v1/keys/${made.json.id}`)).status, 200);
    const refused = await call(fe2, 'GET', '/v1/functions', undefined, auth);
    assert.equal(refused.status, 401, refused.text);
    assert.equal((await call(fe1, 'GET', '/v1/functions', undefined, auth)).status, 401);

    const db = new pg.Client({ connectionString: store });
    await db.connect();
    try {
      const rows = (await db.query('SELECT * FROM api_keys')).rows;
      const text = JSON.stringify(rows);
      assert.ok(text.includes(createHash('sha256').update(made.json.key).digest('hex')));
      assert.ok(!text.includes(made.json.key), 'the key itself is not stored');
      assert.ok(rows[0].last_used_at, 'last use recorded');
    } finally {
      await db.end();
    }
  });

  it('deletes a namespace through one front end, and the other sees it gone', async () => {
    const ops = { 'x-nimbus-namespace': 'ops' };
    const code = 'exports.handler = async () => 1';
    assert.equal((await call(fe1, 'PUT', '/v1/functions/job', { runtime: 'nodejs', code }, ops)).status, 201);
    const admin = await call(fe1, 'POST', '/v1/keys', { namespace: 'ops', role: 'admin' });
    const auth = { authorization: `Bearer ${admin.json.key}` };
    // Front end 1 has the key cached: the delete through front end 2 must drop it there too.
    assert.equal((await call(fe1, 'GET', '/v1/functions', undefined, auth)).status, 200);
    assert.equal((await call(fe2, 'DELETE', '/v1/namespaces/ops')).status, 409);
    const forced = await call(fe2, 'DELETE', '/v1/namespaces/ops?force=1');
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.json.functions, ['job']);
    assert.equal((await call(fe1, 'GET', '/v1/functions', undefined, ops)).status, 404);
    assert.equal((await call(fe1, 'GET', '/v1/functions', undefined, auth)).status, 401);
  });
});
