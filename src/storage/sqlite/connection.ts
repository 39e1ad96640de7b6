// Opens a connection to the store's SQLite file with the settings every
// connection to it must share: WAL, fsync at checkpoints only, foreign keys,
// and waiting (not failing) while another connection writes.
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

export function openConnection(file: string): Database.Database {
  // Every function's env is in here: a new file is the platform's alone, and
  // SQLite gives its -wal and -shm files the same mode.
  if (file !== '' && file !== ':memory:' && !file.startsWith('file:')) closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
