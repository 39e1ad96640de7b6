// PostgreSQL enqueues in groups (enqueue-groups.ts): enqueues made together
// form one group; within it one of the rows sharing an idempotency key
// inserts and the others get its id, a key taken before gets the prior id,
// and a row that fails (its activation id already queued) fails alone while
// the rest of its group goes in with its record and outbox row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { createTestDatabase } from './pg-database.ts';
import { activation, entry } from './records.ts';

describe('postgres enqueue groups', async () => {
  const url = await createTestDatabase();

  for (const failing of [false, true]) {
    it(`keeps idempotency in a group with duplicate keys${failing ? ' and a failing row' : ''}`, async () => {
      const store = new PostgresStore(url);
      const check = new pg.Client({ connectionString: url });
      try {
        await store.migrate();
        await check.connect();
        const fn = failing ? 'grp-fail' : 'grp-ok';
        const rec = (key: string | null = null) => {
          const r = activation({ functionName: fn, trigger: 'async', status: 'queued' });
          return { r, e: entry(r, { idempotencyKey: key }) };
        };
        const taken = rec('taken');
        assert.equal((await store.enqueue(taken.r, taken.e)).duplicate, false);
        const [a, b, c, again, plain] = [rec('k'), rec('k'), rec('k'), rec('taken'), rec()];
        // Same activation id as `taken` and no key: its queue insert violates the primary key.
        const bad = rec();
        bad.r.id = taken.r.id;
        bad.e.activationId = taken.r.id;
        const group = [a, b, again, c, plain, ...(failing ? [bad] : [])];
        const results = await Promise.allSettled(group.map((x) => store.enqueue(x.r, x.e)));
        const ok = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
        const winners = ok.slice(0, 4).filter((r, i) => i !== 2 && r?.duplicate === false);
        assert.equal(winners.length, 1, 'exactly one of the rows with key k inserts');
        const winner = winners[0]!.activationId;
        for (const i of [0, 1, 3]) assert.equal(ok[i]?.activationId, winner, 'the others get its id');
        assert.deepEqual(ok[2], { activationId: taken.r.id, duplicate: true }, 'a key taken before: the prior id');
        assert.deepEqual(ok[4], { activationId: plain.r.id, duplicate: false });
        if (failing) assert.equal(results[5]?.status, 'rejected', 'the bad row fails');
        const count = async (sql: string) => Number((await check.query(sql, [fn])).rows[0].n);
        assert.equal(await count('SELECT count(*) AS n FROM async_queue WHERE function_name = $1'), 3);
        assert.equal(await count('SELECT count(*) AS n FROM activations WHERE function_name = $1'), 3);
        const outbox =
          'SELECT count(*) AS n FROM async_outbox o JOIN async_queue q USING (activation_id) WHERE q.function_name = $1';
        assert.equal(await count(outbox), 3, 'an outbox row for each entry that went in, none for duplicates');
        const stored = await check.query('SELECT run_at, attempts, input FROM async_queue WHERE activation_id = $1', [
          plain.r.id,
        ]);
        assert.equal(Number(stored.rows[0].run_at), plain.e.runAt, 'columns land typed as they were given');
        assert.deepEqual(JSON.parse(stored.rows[0].input as string), plain.e.input);
        assert.equal((await store.getActivation(plain.r.id))?.id, plain.r.id);
      } finally {
        await check.end();
        await store.close();
      }
    });
  }
});
