// Function state in the store, on both backends (SQLite, PostgreSQL): the
// same SQL gives the same answers. Concurrent increments from two store
// connections lose none; expired keys vanish at once (a clock the test moves);
// list pages in byte order with a prefix and a cursor; limits are refused with
// the right code and nothing is written; one function never sees another's keys.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';
import { KvStore } from '../../src/state/kv-store.ts';
import { openStores, STORE_KINDS } from '../helpers/stores.ts';

for (const name of STORE_KINDS) {
  describe(`KV store on ${name}`, async () => {
    const [a, b] = (await openStores(name, 2)) as [Store, Store];
    after(() => Promise.all([a.close(), b.close()]));
    let clock = Date.now();
    const kvA = new KvStore(a.sql, () => clock);
    const kvB = new KvStore(b.sql, () => clock);

    it('puts, gets, replaces and deletes JSON values', async () => {
      assert.equal(await kvA.get('f1', 'missing'), undefined);
      await kvA.put('f1', 'k', JSON.stringify({ a: [1, 'ü'] }));
      assert.deepEqual(JSON.parse((await kvB.get('f1', 'k'))!.value), { a: [1, 'ü'] });
      await kvB.put('f1', 'k', '"text"');
      assert.equal((await kvA.get('f1', 'k'))!.value, '"text"');
      assert.equal(await kvA.delete('f1', 'k'), true);
      assert.equal(await kvA.delete('f1', 'k'), false);
      assert.equal(await kvA.get('f1', 'k'), undefined);
    });

    it('increments atomically from two connections and loses none', async () => {
      await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? kvA : kvB).increment('f-count', 'n', 1)));
      assert.equal((await kvA.get('f-count', 'n'))!.value, '100');
      assert.equal(await kvA.increment('f-count', 'n', -0.5), 99.5);
      await kvA.put('f-count', 'word', '"ten"');
      await assert.rejects(kvA.increment('f-count', 'word', 1), { code: 'conflict', message: /not a number/ });
      assert.equal((await kvA.get('f-count', 'word'))!.value, '"ten"');
    });

    it('hides an expired key at once; increment restarts it; put without ttl keeps it forever', async () => {
      const { expiresAt } = await kvA.put('f-ttl', 'short', '1', 2);
      assert.equal(expiresAt, clock + 2000);
      await kvA.increment('f-ttl', 'short', 5);
      assert.equal((await kvA.get('f-ttl', 'short'))!.expiresAt, expiresAt, 'increment keeps a live key’s expiry');
      clock += 2000;
      assert.equal(await kvA.get('f-ttl', 'short'), undefined);
      assert.deepEqual((await kvA.list('f-ttl')).keys, []);
      assert.equal(await kvA.increment('f-ttl', 'short', 1), 1, 'an expired counter starts again');
      assert.equal((await kvA.get('f-ttl', 'short'))!.expiresAt, null);
    });

    it('lists in byte order with a prefix and cursors, live keys only', async () => {
      const keys = ['a/1', 'a/2', 'a/3', 'a/é', 'a~', 'b/1', 'A/1'];
      for (const k of keys) await kvA.put('f-list', k, '0');
      await kvA.put('f-list', 'a/gone', '0', 1);
      clock += 1000;
      const all = await kvA.list('f-list');
      assert.deepEqual(
        all.keys.map((k) => k.name),
        ['A/1', 'a/1', 'a/2', 'a/3', 'a/é', 'a~', 'b/1'],
      );
      assert.equal(all.cursor, null);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await kvB.list('f-list', { prefix: 'a/', limit: 2, cursor });
        assert.ok(page.keys.length <= 2);
        seen.push(...page.keys.map((k) => k.name));
        cursor = page.cursor ?? undefined;
      } while (cursor);
      assert.deepEqual(seen, ['a/1', 'a/2', 'a/3', 'a/é']);
      await assert.rejects(kvA.list('f-list', { cursor: '%%' }), { code: 'bad_request' });
      await assert.rejects(kvA.list('f-list', { limit: 1001 }), { code: 'bad_request' });
    });

    it('refuses keys, values and TTLs over the limits and writes nothing', async () => {
      await assert.rejects(kvA.put('f-lim', 'k'.repeat(513), '1'), { code: 'bad_request', message: /512-byte/ });
      await assert.rejects(kvA.put('f-lim', '', '1'), { code: 'bad_request' });
      const big = JSON.stringify('x'.repeat(1024 * 1024));
      await assert.rejects(kvA.put('f-lim', 'big', big), { code: 'payload_too_large' });
      await assert.rejects(kvA.put('f-lim', 'bad', '{nope'), { code: 'bad_request' });
      await assert.rejects(kvA.put('f-lim', 'ttl', '1', 0), { code: 'bad_request' });
      await kvA.put('f-lim', 'k'.repeat(512), JSON.stringify('x'.repeat(1024 * 1024 - 2)));
      assert.deepEqual(
        (await kvA.list('f-lim')).keys.map((k) => k.name),
        ['k'.repeat(512)],
      );
    });

    it("keeps each function's keys apart, and deleteAll removes only one function's", async () => {
      await kvA.put('ns-a/same', 'k', '"a"');
      await kvA.put('same', 'k', '"default"');
      assert.equal((await kvA.get('ns-a/same', 'k'))!.value, '"a"');
      assert.equal((await kvA.get('same', 'k'))!.value, '"default"');
      assert.equal(await kvA.get('ns-b/same', 'k'), undefined);
      assert.equal(await kvA.deleteAll('ns-a/same'), 1);
      assert.equal(await kvA.get('ns-a/same', 'k'), undefined);
      assert.equal((await kvA.get('same', 'k'))!.value, '"default"');
    });
  });
}
