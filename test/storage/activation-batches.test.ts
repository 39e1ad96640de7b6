// Activation records written to PostgreSQL in batches (postgres/activation-
// batches.ts): an answered sync call's record is written behind, every other
// record is committed before putActivation resolves; many records at once go
// in few statements; the later write of a record wins; a failed batch is kept
// for the next; reads through the same store see what it was given, and
// another process's read of a record created moments ago waits for its batch.
// Queue changes (an async run done) join the batch, in one statement with the
// records written before them, and update rows in place (HOT). A run's read
// waits for its own writes only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  ACTIVATION_UPSERT_AND_QUEUE,
  ActivationBatches,
  MAX_BATCH,
} from '../../src/storage/postgres/activation-batches.ts';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { createTestDatabase } from './pg-database.ts';
import { activation, entry } from './records.ts';

describe('postgres activation batches', async () => {
  const url = await createTestDatabase();
  const hotUrl = await createTestDatabase();
  const writer = new PostgresStore(url);
  const reader = new PostgresStore(url);
  const direct = new pg.Client({ connectionString: url });
  direct.on('error', () => undefined); // the database is dropped by an after hook that may run before ours
  const committed = async (id: string) =>
    (await direct.query('SELECT status FROM activations WHERE id = $1', [id])).rows[0]?.status as string | undefined;

  before(async () => {
    await writer.migrate();
    await direct.connect();
  });
  after(async () => {
    await direct.end();
    await Promise.all([writer.close(), reader.close()]);
  });

  it('commits an async outcome before putActivation resolves', async () => {
    for (const trigger of ['async', 'cron', 'topic'] as const) {
      const r = activation({ trigger, status: 'success' });
      await writer.putActivation(r);
      assert.equal(await committed(r.id), 'success', `${trigger} outcome committed`);
    }
    const running = activation({ trigger: 'sync', status: 'running' });
    await writer.putActivation(running);
    assert.equal(await committed(running.id), 'running', 'a record not yet final is committed too');
  });

  it('writes a sync record behind: resolved first, committed soon after, read back at once by its own store', async () => {
    const r = activation({ trigger: 'sync', status: 'success' });
    await writer.putActivation(r);
    assert.equal((await writer.getActivation(r.id))?.id, r.id, 'its own store reads it at once');
    const other = activation({ trigger: 'http', status: 'error' });
    await writer.putActivation(other);
    assert.equal((await reader.getActivation(other.id))?.status, 'error', 'another process waits for the batch');
  });

  it('writes many records in few statements, the later write of one record winning', async () => {
    let statements = 0;
    const batches = new ActivationBatches((sql, columns) => {
      statements++;
      return writer.sql.run(sql, columns);
    });
    const records = Array.from({ length: 1200 }, () => activation({ functionName: 'many' }));
    const last = { ...records[0]!, status: 'error' as const, result: null };
    await Promise.all([...records.map((r) => batches.write(r)), batches.write(last)]);
    assert.ok(statements <= 4, `1,201 writes in ${statements} statements (at most ${MAX_BATCH} records each)`);
    const listed = await writer.listActivations({ functionName: 'many', limit: 2000 });
    assert.equal(listed.length, 1200);
    assert.equal(listed.find((r) => r.id === last.id)?.status, 'error', 'the later write wins');
  });

  it('gathers records written behind for lingerMs, and a record someone waits for ends the gathering', async () => {
    const statements: number[] = [];
    const batches = new ActivationBatches(
      (sql, columns) => {
        statements.push((columns[0] as unknown[]).length);
        return writer.sql.run(sql, columns);
      },
      { lingerMs: 300 },
    );
    const behind = [activation(), activation()];
    const started = Date.now();
    const written = behind.map((r) => batches.write(r, true));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await committed(behind[0]!.id), undefined, 'still gathering after 100 ms');
    const waited = activation({ trigger: 'async' });
    await batches.write(waited);
    assert.ok(Date.now() - started < 290, 'the waited record did not wait out the linger');
    await Promise.all(written);
    assert.deepEqual(statements, [3], 'one statement for the three');
    const alone = activation();
    const t = Date.now();
    await batches.write(alone, true);
    assert.ok(Date.now() - t >= 290, 'a batch of records written behind waits its linger');
    assert.equal(await committed(alone.id), 'success');
  });

  it('finds a record written behind by another process after a long call (its id minutes old)', async () => {
    // 60 ms: long enough to see the record still in its batch, short enough for a reader (it waits up to 155 ms).
    const lingering = new PostgresStore(url, { recordLingerMs: 60 });
    try {
      // The id says the call began 5 minutes ago; its record is written as it ends, now.
      const id = (Date.now() - 300_000).toString(16).padStart(12, '0') + 'a'.repeat(20);
      await lingering.putActivation(activation({ id, trigger: 'sync', status: 'success' }));
      assert.equal(await committed(id), undefined, 'still in its batch');
      assert.equal((await reader.getActivation(id))?.status, 'success', 'the other process waited for the batch');
    } finally {
      await lingering.close();
    }
  });

  it('puts the queue changes of many runs in one statement with their records, merging two changes of one entry', async () => {
    const runs = Array.from({ length: 40 }, () => activation({ trigger: 'async', status: 'queued' }));
    for (const r of runs) await writer.enqueue(r, entry(r, { attempts: 0 }));
    const statements: string[] = [];
    const batches = new ActivationBatches((sql, columns) => {
      statements.push(sql);
      return writer.sql.run(sql, columns);
    });
    const done = runs.map((r) => ({ ...r, status: 'success' as const }));
    await Promise.all(
      done.flatMap((r, i) => [
        batches.write(r),
        batches.changeQueue(r.id, { attempts: 1 }),
        batches.changeQueue(r.id, i === 0 ? { runAt: 7 } : { state: 'done' }),
      ]),
    );
    assert.deepEqual(statements, [ACTIVATION_UPSERT_AND_QUEUE], 'one statement for 40 records and 80 changes');
    const first = await writer.getQueueEntry(runs[0]!.id);
    assert.deepEqual([first?.attempts, first?.runAt, first?.state], [1, 7, 'pending'], 'the two changes merged');
    for (const r of runs.slice(1)) {
      const e = await writer.getQueueEntry(r.id);
      assert.deepEqual([e?.attempts, e?.state], [1, 'done']);
      assert.equal(await committed(r.id), 'success', 'its outcome went in with it');
    }
  });

  it("a run's read waits for that run's writes only, not for a batch of others still gathering", async () => {
    const batches = new ActivationBatches((sql, columns) => writer.sql.run(sql, columns), { lingerMs: 300 });
    const others = activation();
    const gathering = batches.write(others, true);
    const t = Date.now();
    await batches.settled(activation().id);
    assert.ok(Date.now() - t < 100, 'a run with no writes here reads at once');
    assert.equal(await committed(others.id), undefined, 'and the others keep gathering');
    const mine = activation({ status: 'queued' });
    void batches.write(mine, true);
    await batches.settled(mine.id);
    assert.equal(await committed(mine.id), 'queued', 'its own record is committed before it reads');
    assert.ok(Date.now() - t < 250, 'without waiting out the linger');
    await gathering;
    assert.equal(await committed(others.id), 'success', 'the others went in with it');
  });

  it("updates an async run's queue entry in place (HOT): no index entries added for each run", async () => {
    // A database of its own: no other test's connection reports updates there meanwhile.
    const own = new PostgresStore(hotUrl); // its connections end with it, and a backend that ends reports its counts
    const stats = new pg.Client({ connectionString: hotUrl });
    await Promise.all([own.migrate(), stats.connect()]);
    try {
      const runs = Array.from({ length: 50 }, () => activation({ trigger: 'async', status: 'queued' }));
      for (const r of runs) await own.enqueue(r, entry(r, { attempts: 0 }));
      // Runs end a few at a time, as an invoker's batches do (a page's dead versions are pruned in between).
      for (let i = 0; i < runs.length; i += 5)
        await Promise.all(
          runs
            .slice(i, i + 5)
            .flatMap((r) => [
              own.putActivation({ ...r, status: 'success' }),
              own.updateQueueEntry(r.id, { attempts: 1, state: 'done' }),
            ]),
        );
      await own.close();
      let queue = { upd: 0, hot: 0 };
      for (let i = 0; i < 50 && queue.upd < 50; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const q = `SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'async_queue'`;
        queue = (await stats.query(q)).rows[0] as typeof queue;
      }
      assert.equal(queue.upd, 50, 'the counts of the ended connections were reported');
      assert.ok(queue.hot >= 40, `queue entries updated in place: ${queue.hot} of ${queue.upd}`);
    } finally {
      await own.close().catch(() => undefined); // closed already unless the test failed before
      await stats.end();
    }
  });

  it('a failed batch rejects its queue changes and does not apply them later', async () => {
    const r = activation({ trigger: 'async', status: 'queued' });
    await writer.enqueue(r, entry(r, { attempts: 0 }));
    let fail = true;
    const batches = new ActivationBatches((sql, columns) =>
      fail ? Promise.reject(new Error('database away')) : writer.sql.run(sql, columns),
    );
    await assert.rejects(batches.changeQueue(r.id, { state: 'done' }), /database away/);
    fail = false;
    await batches.write(activation());
    assert.equal(
      (await writer.getQueueEntry(r.id))?.state,
      'pending',
      'the caller heard of it; nothing applied behind it',
    );
  });

  it('keeps a failed batch and writes it with the next one', async () => {
    let fail = true;
    const batches = new ActivationBatches((sql, columns) => {
      if (fail) return Promise.reject(new Error('database away'));
      return writer.sql.run(sql, columns);
    });
    const r = activation({ functionName: 'retried' });
    await assert.rejects(batches.write(r), /database away/);
    fail = false;
    await batches.flush();
    assert.equal(await committed(r.id), 'success');
  });
});
