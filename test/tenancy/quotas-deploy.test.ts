// maxFunctions under racing deploys: every racer passes the early check (no
// function is stored yet), so the quota holds only because QuotaGate.deploying
// stores a namespace's new functions one at a time and counts again before
// each write. PostgreSQL: two stores and two gates stand for two front ends
// (the lock is a leased slot in the shared store); SQLite: one embedded gate
// (the lock is in memory). Each racer runs the function service's sequence:
// checkDeploy, then deploying(store.deployVersion).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';
import { QuotaGate } from '../../src/tenancy/quotas.ts';
import { artifact, config } from '../storage/records.ts';
import { openStores, STORE_KINDS } from '../helpers/stores.ts';

for (const backend of STORE_KINDS) {
  describe(`maxFunctions under racing deploys (${backend})`, () => {
    it('of 12 racing first deploys of different functions, exactly maxFunctions are stored; the rest get 400', async () => {
      const stores: Store[] = await openStores(backend, backend === 'postgres' ? 2 : 1);
      const gates = stores.map((s) => QuotaGate.forStore(s.sql));
      try {
        await stores[0]!.sql.run('INSERT INTO namespaces (name, quotas, created_at) VALUES (?, ?, ?)', [
          'race',
          JSON.stringify({ maxFunctions: 3 }),
          new Date().toISOString(),
        ]);
        const a = artifact('exports.handler = async () => 1');
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, async (_, i) => {
            const gate = gates[i % gates.length]!;
            const store = stores[i % stores.length]!;
            const name = `race/fn-${i}`;
            await gate.checkDeploy(name, 256, true);
            return gate.deploying(name, true, () => store.deployVersion(name, config(), a.sha, a.bytes));
          }),
        );
        const stored = results.filter((r) => r.status === 'fulfilled');
        assert.equal(stored.length, 3, JSON.stringify(results.map((r) => r.status)));
        for (const r of results)
          if (r.status === 'rejected') assert.match(String(r.reason?.message), /quota maxFunctions \(3 functions\)/);
        const names = (await stores[0]!.listFunctions()).map((f) => f.name).filter((n) => n.startsWith('race/'));
        assert.equal(names.length, 3, names.join(', '));
        // A racer that lost to a deploy of the same name is an update by the time it writes: not counted again.
        assert.equal(await gates[0]!.deploying(names[0]!, true, async () => 'stored'), 'stored');
        await assert.rejects(
          gates[0]!.deploying('race/fn-new', true, async () => 'stored'),
          /maxFunctions/,
        );
      } finally {
        await Promise.all(gates.map((g) => g.close()));
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });
}
