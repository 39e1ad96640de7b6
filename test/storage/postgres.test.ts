// PostgreSQL driver specifics: processes migrating at once apply each
// migration once (advisory lock); an unreachable database gives
// `unavailable` fast, and the same store works again when it returns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { isNimbusError } from '../../src/shared/errors.ts';
import { TcpProxy } from '../cluster/tcp-proxy.ts';
import { createTestDatabase } from './pg-database.ts';
import { artifact, config } from './records.ts';

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
