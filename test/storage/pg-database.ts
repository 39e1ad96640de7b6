// A PostgreSQL database of its own for one test run: CREATE DATABASE
// nimbus_test_<random> on the server (NIMBUS_TEST_PG, default the local trust
// server's `test` database as postgres), dropped again in an `after` hook.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';

export const ADMIN_URL = process.env.NIMBUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates a fresh database now and drops it after the calling suite; returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const name = `nimbus_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  after(() => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
