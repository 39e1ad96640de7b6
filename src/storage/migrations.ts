// Reads a driver's numbered migrations (NNN_name.sql) in order.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (f) => ({
      version: Number(f.split('_')[0]),
      name: f,
      sql: await readFile(path.join(dir, f), 'utf8'),
    })),
  );
}
