// Runs the storage conformance cases against every Store driver: SQLite in a
// temp directory (a new file per case) and PostgreSQL in a database of its
// own for this run (emptied before each case, dropped at the end).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import type { Store } from '../../src/storage/store.ts';
import { storeCases } from './cases.ts';
import { createTestDatabase } from './pg-database.ts';

describe('sqlite driver', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'nimbus-store-'));
  const opened: Store[] = [];
  after(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  storeCases('sqlite', async () => {
    const s = new SqliteStore(path.join(dir, `case-${n++}.db`));
    opened.push(s);
    await s.migrate();
    return s;
  });
});

describe('postgres driver', async () => {
  const url = await createTestDatabase();
  let store: PostgresStore | undefined;
  after(() => store?.close());
  storeCases('postgres', async () => {
    await store?.close();
    store = new PostgresStore(url);
    await store.migrate();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c
      .query('TRUNCATE activations, async_queue, functions, versions, version_counters, artifacts')
      .finally(() => c.end());
    return store;
  });
});
