// Function records cached on each front end (frontend/function-cache.ts): two
// front ends (real processes) and an invoker on one PostgreSQL and NATS. Front
// end 2 has the function cached (it served calls); each redeploy through front
// end 1 is served by front end 2 on its very next call, before any TTL could
// have expired, and so is a delete. Without the acknowledged drop, front end 2
// would keep running the old version for FUNCTION_CACHE_TTL_MS (10 s).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { FUNCTION_CACHE_TTL_MS } from '../../src/frontend/function-cache.ts';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { call, deploy, invoke } from './http.ts';
import { sharedBusUrl } from './shared-nats.ts';

const code = (n: number) => `exports.handler = async () => ({ n: ${n} })`;

describe('function cache across front ends', async () => {
  const c: Cluster = startCluster(sharedBusUrl(), await createTestDatabase());
  let fe1: string;
  let fe2: string;

  before(async () => {
    await c.startInvoker('inv-cache');
    [fe1, fe2] = (await Promise.all([c.startFrontEnd(), c.startFrontEnd()])).map((f) => f.url) as [string, string];
  });

  it('serves each redeploy on the other front end on its next call', async () => {
    let fresh = 0;
    const first = await deploy(fe1, 'cached', code(0));
    assert.equal(first.status, 201, `${first.text}\n${c.logs()}`);
    // Front end 2 read the record from the database no earlier than its first call after the previous redeploy.
    let cachedSince = Date.now();
    for (let n = 1; n <= 6; n++) {
      for (let i = 0; i < 3; i++) {
        const warm = await invoke(fe2, 'cached');
        assert.equal(warm.status, 200, `${warm.text}\n${c.logs()}`);
        assert.deepEqual(warm.json, { n: n - 1 }, 'front end 2 runs the current version');
      }
      const redeployed = await deploy(fe1, 'cached', code(n));
      assert.equal(redeployed.status, 200, redeployed.text);
      const sent = Date.now();
      const next = await invoke(fe2, 'cached');
      assert.deepEqual(next.json, { n }, `redeploy ${n} is seen by front end 2 at once`);
      if (sent - cachedSince < FUNCTION_CACHE_TTL_MS) fresh++; // its cached record had not expired: the drop did it
      cachedSince = sent;
    }
    assert.ok(fresh >= 3, `${fresh} of 6 redeploys came while front end 2's record was still cached`);
  });

  it('refuses a function deleted through the other front end on the next call', async () => {
    assert.equal((await invoke(fe2, 'cached')).status, 200);
    assert.equal((await call(fe1, 'DELETE', '/v1/functions/cached')).status, 200);
    const gone = await invoke(fe2, 'cached');
    assert.equal(gone.status, 404, gone.text);
  });
});
