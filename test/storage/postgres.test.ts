// PostgreSQL driver specifics: processes migrating at once apply each
// migration once (advisory lock); an unreachable database gives
// `unavailable` fast, and the same store works again when it returns; one
// process at a time sweeps old activations (advisory lock), the others skip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore, RETENTION_LOCK } from '../../src/storage/postgres/store.ts';
import { DEFAULT_SWEEP } from '../../src/storage/retention.ts';
import { isNimbusError } from '../../src/shared/errors.ts';
import { TcpProxy } from '../cluster/tcp-proxy.ts';
import { createTestDatabase } from './pg-database.ts';
import { activation, artifact, config } from './records.ts';

describe('postgres store', async () => {
  const url = await createTestDatabase();

  it('applies migrations once when several processes start together', async () => {
    const stores = Array.from({ length: 4 }, () => new PostgresStore(url));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      const a = artifact('x');
      assert.equal((await stores[0]!.deployVersion('m', config(), a.sha, a.bytes)).version, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('lets one process sweep old activations at a time: the others skip while it holds the lock, and it lets go after', async () => {
    const [a, b] = [new PostgresStore(url), new PostgresStore(url)];
    const other = new pg.Client({ connectionString: url });
    try {
      await a.migrate();
      const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
      for (let i = 0; i < 60; i++) await a.putActivation(activation({ functionName: 'swept', createdAt: old }));
      const policy = { maxAgeMs: 7 * 86_400_000, keepPerFunction: 0, ...DEFAULT_SWEEP, batchSize: 5, pauseMs: 30 };
      await other.connect();
      await other.query('SELECT pg_advisory_lock($1)', [RETENTION_LOCK]);
      assert.deepEqual(
        await a.sweepActivations(policy),
        { deleted: 0, more: false, skipped: true },
        'another process holds the lock',
      );
      await other.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
      const first = a.sweepActivations(policy); // 12 batches, 30 ms apart
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await b.sweepActivations(policy)).skipped, true, 'a second process skips while the first sweeps');
      assert.deepEqual(await first, { deleted: 60, more: false });
      assert.deepEqual(await b.sweepActivations(policy), { deleted: 0, more: false }, 'the lock was given back');
    } finally {
      await other.end();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps reading and writing after another process adds a column (statements are prepared per connection)', async () => {
    const store = new PostgresStore(url, { max: 1 }); // one connection: the one that prepared them
    const admin = new pg.Client({ connectionString: url });
    try {
      await store.migrate();
      const write = async () => {
        const r = activation({ trigger: 'async', status: 'queued' });
        await store.enqueue(r, {
          activationId: r.id,
          functionName: r.functionName,
          input: { kind: 'event', event: {} },
          attempts: 0,
          maxAttempts: 1,
          runAt: Date.now(),
          idempotencyKey: null,
          state: 'pending',
        });
        assert.equal((await store.getQueueEntry(r.id))?.activationId, r.id);
        assert.equal((await store.getActivation(r.id))?.id, r.id);
      };
      await write();
      await admin.connect();
      for (const table of ['async_queue', 'activations', 'functions', 'versions'])
        await admin.query(`ALTER TABLE ${table} ADD COLUMN added_later TEXT`);
      await write();
      assert.ok((await store.pendingQueue()).length >= 2);
    } finally {
      for (const table of ['async_queue', 'activations', 'functions', 'versions'])
        await admin.query(`ALTER TABLE ${table} DROP COLUMN IF EXISTS added_later`).catch(() => undefined);
      await admin.end();
      await store.close();
    }
  });

  it('answers unavailable within seconds when the database is unreachable, and recovers', async () => {
    const target = new URL(url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const store = new PostgresStore(viaProxy.toString());
    try {
      await outageAndBack(store, proxy);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('answers unavailable when the database goes silent (no reset), within the query timeout', async () => {
    const target = new URL(url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const store = new PostgresStore(viaProxy.toString(), { queryTimeoutMs: 1500, connectTimeoutMs: 1500 });
    try {
      await store.ping();
      proxy.freeze();
      for (const call of [() => store.ping(), () => store.getFunction('m')]) {
        const started = Date.now();
        await assert.rejects(call(), (e) => isNimbusError(e) && e.code === 'unavailable');
        assert.ok(Date.now() - started < 3000, `failed in ${Date.now() - started} ms`);
      }
      await proxy.cut();
      await proxy.restore();
      await store.ping();
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

/** Cuts the proxy under a working store: calls fail fast with `unavailable`; restored, the same store works. */
async function outageAndBack(store: PostgresStore, proxy: TcpProxy): Promise<void> {
  await store.migrate();
  await store.ping();
  await proxy.cut();
  for (const call of [() => store.ping(), () => store.getFunction('m'), () => store.listActivations({ limit: 5 })]) {
    const started = Date.now();
    await assert.rejects(call(), (e) => isNimbusError(e) && e.code === 'unavailable');
    assert.ok(Date.now() - started < 3000, `failed in ${Date.now() - started} ms`);
  }
  await proxy.restore();
  await store.ping();
  assert.equal((await store.getFunction('m'))?.version, 1);
}
