// Secrets in cluster mode: the PostgreSQL store with the secrets module (every
// table's text dumped and searched for the value; a sealed value moved to
// another name does not open; a wrong key is refused at start), `nimbus serve`
// and `nimbus invoker` refusing to start without NIMBUS_MASTER_KEY, and a
// cluster (a front end and an invoker as processes) handing a process
// function its secret and, once replaced, the new value on the next call.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { Secrets } from '../../src/tenancy/secrets.ts';
import { isNimbusError } from '../../src/shared/errors.ts';
import { startCluster } from '../cluster/cluster.ts';
import { call, deploy, invoke } from '../cluster/http.ts';
import { NodeProcess } from '../cluster/node-process.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { createTestDatabase } from '../storage/pg-database.ts';
import { READS_SECRET, fnv, secretValue } from './secrets-fixture.ts';

/** Every row of every table of the database as text (bytea as hex, so the hex of a value is searched too). */
async function dumpTables(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    let text = '';
    for (const { table_name } of tables.rows) {
      const rows = await c.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`);
      text += `${table_name}\n${rows.rows.map((r) => r.row).join('\n')}\n`;
    }
    return text;
  } finally {
    await c.end();
  }
}

const holds = (text: string, value: string) =>
  text.includes(value) || text.includes(Buffer.from(value, 'utf8').toString('hex'));

const noRecycle = async () => undefined;
const quiet = () => undefined;

describe('secrets on PostgreSQL (the store with the secrets module)', async () => {
  const url = await createTestDatabase();
  const store = new PostgresStore(url);
  const key = randomBytes(32).toString('hex');
  const value = secretValue('pg');
  let secrets: Secrets;
  before(async () => {
    await store.migrate();
    secrets = await Secrets.open(store, {
      dataDir: '/nonexistent',
      cluster: true,
      masterKey: key,
      recycle: noRecycle,
      log: quiet,
    });
  });
  after(() => store.close());

  it('seals the value: it opens for the function, and no table holds it', async () => {
    assert.equal((await secrets.put('default', 'db-pass', value)).created, true);
    assert.deepEqual(await secrets.envFor('reader', { DB_PASSWORD: 'db-pass' }), { DB_PASSWORD: value });
    const dump = await dumpTables(url);
    assert.match(dump, /^secrets$/m, 'the secrets table was dumped');
    assert.match(dump, /db-pass/);
    assert.ok(!holds(dump, value), 'a PostgreSQL table holds the secret value');
  });

  it('does not open a sealed value moved to another name or namespace', async () => {
    await secrets.put('default', 'decoy', 'decoy-value');
    await store.sql.run(
      "UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE namespace = 'default' AND name = 'db-pass') WHERE name = 'decoy'",
    );
    await assert.rejects(secrets.envFor('reader', { DB_PASSWORD: 'decoy' }), (e: unknown) => {
      assert.ok(isNimbusError(e) && e.code === 'unavailable', String(e));
      assert.match(e.message, /secret "decoy", which cannot be opened with this node's master key/);
      assert.ok(!e.message.includes(value));
      return true;
    });
    await secrets.put('default', 'decoy', 'decoy-value');
  });

  it('refuses a sandbox environment over 1 MB of secrets, naming the function', async () => {
    const big = 'v'.repeat(64 * 1024);
    const mapping: Record<string, string> = {};
    for (let i = 0; i < 17; i++) {
      await secrets.put('default', `big-${i}`, big);
      mapping[`BIG_${i}`] = `big-${i}`;
    }
    await assert.rejects(
      secrets.envFor('hoarder', mapping),
      /the secrets function "hoarder" maps hold \d+ bytes together, over the 1048576/,
    );
    delete mapping.BIG_0;
    delete mapping.BIG_1;
    assert.equal(Object.keys(await secrets.envFor('hoarder', mapping)).length, 15);
  });

  it('refuses to start a cluster node without a key, or with one that does not open the stored secrets', async () => {
    const saved = process.env.NIMBUS_MASTER_KEY;
    delete process.env.NIMBUS_MASTER_KEY;
    try {
      const options = { dataDir: '/nonexistent', cluster: true, recycle: noRecycle, log: quiet };
      await assert.rejects(Secrets.open(store, options), /cluster mode needs NIMBUS_MASTER_KEY/);
      await assert.rejects(
        Secrets.open(store, { ...options, masterKey: randomBytes(32).toString('base64') }),
        /does not open the secrets in this store/,
      );
      await assert.rejects(Secrets.open(store, { ...options, masterKey: 'c2hvcnQ=' }), /must be 32 bytes.*is 5 bytes/);
    } finally {
      if (saved !== undefined) process.env.NIMBUS_MASTER_KEY = saved;
    }
  });
});

describe('cluster nodes and NIMBUS_MASTER_KEY', async () => {
  const bus = sharedBusUrl();
  const storeUrl = await createTestDatabase();

  it('nimbus serve and nimbus invoker refuse to start without it, saying what to set', async () => {
    const env = { NIMBUS_BUS: bus, NIMBUS_STORE: storeUrl, NIMBUS_MASTER_KEY: '' };
    for (const args of [
      ['serve', '--port', '0'],
      ['invoker', '--invoker-id', 'keyless'],
    ]) {
      const started = NodeProcess.start(`no-key-${args[0]}`, args, env, /is running/, 60_000);
      await assert.rejects(started, /exited \(\d+\) before it was ready[\s\S]*cluster mode needs NIMBUS_MASTER_KEY/);
    }
    const bad = 'not-a-key-' + randomBytes(4).toString('hex');
    const started = NodeProcess.start(
      'bad-key',
      ['serve', '--port', '0'],
      { ...env, NIMBUS_MASTER_KEY: bad },
      /is running/,
      60_000,
    );
    await assert.rejects(started, (e: Error) => {
      assert.match(e.message, /NIMBUS_MASTER_KEY must be 32 bytes/);
      assert.ok(!e.message.includes(bad), 'the error quotes the key');
      return true;
    });
  });

  it('a front end and an invoker hand a function its secret, and the replaced value to the next call', async () => {
    const c = startCluster(bus, storeUrl);
    await c.startInvoker('inv-secrets', [], { NIMBUS_LOG_LEVEL: 'debug' });
    const fe = (await c.startFrontEnd()).url;
    const [first, second] = [secretValue('cluster-first'), secretValue('cluster-second')];
    assert.equal((await call(fe, 'PUT', '/v1/secrets/db-pass', { value: first })).status, 201);
    const d = await deploy(fe, 'cluster-reader', READS_SECRET, { secrets: { DB_PASSWORD: 'db-pass' } });
    assert.equal(d.status, 201, d.text);
    const one = await invoke(fe, 'cluster-reader');
    assert.equal(one.status, 200, `${one.text}\n${c.logs()}`);
    assert.equal(one.json.fnv, fnv(first));
    assert.equal((await invoke(fe, 'cluster-reader')).headers.get('x-nimbus-cold-start'), 'false');
    assert.equal((await call(fe, 'PUT', '/v1/secrets/db-pass', { value: second })).status, 200);
    // The recycle reaches the invoker over the bus: the next call may still race it, the one after may not.
    const until = Date.now() + 10_000;
    let seen = await invoke(fe, 'cluster-reader');
    while (seen.json?.fnv !== fnv(second) && Date.now() < until) seen = await invoke(fe, 'cluster-reader');
    assert.equal(seen.json.fnv, fnv(second), `${seen.text}\n${c.logs()}`);
    const dump = await dumpTables(storeUrl);
    for (const v of [first, second]) {
      assert.ok(!holds(dump, v), 'a PostgreSQL table holds a secret value');
      assert.ok(!c.logs().includes(v) && !c.invokers.get('inv-secrets')?.output.includes(v), 'a node log holds it');
    }
  });
});
