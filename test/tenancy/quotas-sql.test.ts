// The shared quota counter (tenancy/quotas-sql.ts) on both stores: two
// stores on one database stand for two front ends. Racing callers never hold
// more than maxConcurrent slots nor count past invocationsPerMinute; a slot
// given back is free again; a lease whose holder stopped renewing it expires
// and its slot can be taken over. Also measures the round trips a call costs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';
import { LEASE_MS, SqlQuotaCounter } from '../../src/tenancy/quotas-sql.ts';
import { openStores, STORE_KINDS } from '../helpers/stores.ts';

// Two stores on one database stand for two front ends.
for (const backend of STORE_KINDS) {
  describe(`quota counter in the shared store (${backend})`, async () => {
    // Opened here, not in a hook: the database goes in an after hook of the level that opens it.
    const stores = (await openStores(backend, 2)) as [Store, Store];
    let a: SqlQuotaCounter;
    let b: SqlQuotaCounter;
    before(async () => {
      a = new SqlQuotaCounter(stores[0].sql);
      b = new SqlQuotaCounter(stores[1].sql);
    });
    after(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('racing callers on two stores take at most maxConcurrent slots; a slot given back is free again', async () => {
      const tries = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).acquire('race', 3)));
      const held = tries.filter((r) => r !== undefined);
      assert.equal(held.length, 3, 'exactly three of 24 racing callers hold a slot');
      assert.equal((await a.usage('race', 0)).running, 3);
      assert.equal(await b.acquire('race', 3), undefined, 'full: the other store sees the same slots');
      await held[0]!();
      await held[0]!(); // a second release changes nothing
      assert.equal((await b.usage('race', 0)).running, 2);
      const again = await b.acquire('race', 3);
      assert.ok(again, 'the slot given back is free');
      assert.equal(await a.acquire('race', 3), undefined);
      assert.equal((await a.usage('other-ns', 0)).running, 0, 'another namespace has its own slots');
      assert.ok(await a.acquire('other-ns', 1));
      await Promise.all([...held.slice(1), again].map((r) => r!()));
      assert.equal((await a.usage('race', 0)).running, 0);
    });

    it('counts racing invocations of one minute up to the limit and no further; a new minute starts at zero', async () => {
      const counted = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).countInvocation('rate', 1000, 7)),
      );
      assert.equal(counted.filter(Boolean).length, 7);
      assert.equal((await a.usage('rate', 1000)).invocationsThisMinute, 7);
      assert.equal(await b.countInvocation('rate', 1001, 7), true, 'the next minute has its own count');
      assert.equal((await a.usage('rate', 1001)).invocationsThisMinute, 1);
    });

    it("a lease not renewed expires: a stopped holder's slot is taken over, and its late release frees nothing", async () => {
      const stale = await a.acquire('crash', 1);
      assert.ok(stale);
      assert.equal(await b.acquire('crash', 1), undefined);
      // The holder "crashed" LEASE_MS ago: age its lease as the clock would.
      await stores[0].sql.run('UPDATE quota_leases SET expires_at = expires_at - ? WHERE namespace = ?', [
        LEASE_MS + 1,
        'crash',
      ]);
      assert.equal((await b.usage('crash', 0)).running, 0, 'an expired lease does not count');
      const taken = await b.acquire('crash', 1);
      assert.ok(taken, 'the expired slot is taken over');
      await stale(); // the old holder's release must not free the new holder's slot
      assert.equal((await a.usage('crash', 0)).running, 1);
      assert.equal(await a.acquire('crash', 1), undefined);
      await taken();
    });

    it('costs one statement to count a call, one to take a slot and one to give it back (measured)', async () => {
      const n = 300;
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        assert.ok(await a.countInvocation('cost', 5000, 1_000_000));
        const release = await a.acquire('cost', 1000);
        assert.ok(release);
        await release();
      }
      const perCall = (performance.now() - started) / n;
      // The same number of round trips that change nothing, on the same connection pool: the floor.
      const floorStarted = performance.now();
      for (let i = 0; i < n * 3; i++) await stores[0].sql.get('SELECT 1 AS one');
      const floor = (performance.now() - floorStarted) / n;
      console.log(
        `# ${backend}: count + acquire + release = ${perCall.toFixed(3)} ms a call; three SELECT 1 = ${floor.toFixed(3)} ms (${n} calls)`,
      );
      assert.ok(perCall < 20, `${perCall} ms a call`);
    });
  });
}
