// Opens the store the config names: "sqlite" (a file in the data directory) or
// a postgres:// URL (cluster mode).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { NimbusConfig } from '../config/options.ts';
import type { Store } from './store.ts';
import { PostgresStore } from './postgres/store.ts';
import { SqliteStore } from './sqlite/store.ts';

/** `log` hears of what the store does in the background (PostgreSQL's batches of activation records written behind). */
export async function openStore(
  config: NimbusConfig,
  log?: (msg: string, extra?: Record<string, unknown>) => void,
): Promise<Store> {
  if (config.store === 'sqlite') {
    await mkdir(config.dataDir, { recursive: true });
    return new SqliteStore(path.join(config.dataDir, 'nimbus.db'));
  }
  if (/^postgres(ql)?:\/\//.test(config.store)) return new PostgresStore(config.store, { log });
  throw new Error(`unknown store "${config.store}": use "sqlite" or a postgres:// URL`);
}
