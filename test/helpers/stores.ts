// The two store drivers for tests that hold the same SQL to both: a migrated
// SQLite store (a file in a temp directory of its own) and a migrated
// PostgreSQL one (a database of its own, storage/pg-database.ts), opened once
// or several times on one database (several stores stand for several
// processes). The file or database goes in an `after` hook of the level that
// asked for it; the caller closes the stores it opened.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import type { PlatformOptions } from '../../src/platform.ts';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import type { Store } from '../../src/storage/store.ts';
import { createTestDatabase } from '../storage/pg-database.ts';

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/**
 * `count` stores of `kind` on one new database, migrated once. Call it in a
 * describe body or a test, not in a before hook: an after hook registered in
 * a hook runs as soon as that hook ends.
 */
export async function openStores(kind: StoreKind, count = 1): Promise<Store[]> {
  let open: () => Store;
  if (kind === 'postgres') {
    const url = await createTestDatabase();
    open = () => new PostgresStore(url);
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-store-'));
    after(() => rm(dir, { recursive: true, force: true }));
    open = () => new SqliteStore(path.join(dir, 'nimbus.db'));
  }
  const stores = Array.from({ length: count }, open);
  await stores[0]?.migrate();
  return stores;
}

/** One test per driver, `${kind}: ${what}`, running `check` on a new migrated store closed after it. */
export function eachStore(what: string, check: (store: Store) => Promise<void>): void {
  for (const kind of STORE_KINDS) {
    it(`${kind}: ${what}`, async () => {
      const [store] = await openStores(kind);
      if (!store) throw new Error(`no ${kind} store opened`);
      try {
        await check(store);
      } finally {
        await store.close();
      }
    });
  }
}

/** The platform options that run a test platform on `kind`: its own data dir's SQLite, or a new PostgreSQL database. */
export async function platformStore(kind: StoreKind): Promise<PlatformOptions> {
  return kind === 'postgres' ? { store: await createTestDatabase() } : {};
}
