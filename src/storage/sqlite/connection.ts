// Opens a connection to the store's SQLite file with the settings every
// connection to it must share: WAL, fsync at checkpoints only, foreign keys,
// waiting (not failing) while another connection writes, and free pages that
// can be given back to the file system.
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

export function openConnection(file: string): Database.Database {
  // Every function's env is in here: a new file is the platform's alone, and
  // SQLite gives its -wal and -shm files the same mode.
  if (file !== '' && file !== ':memory:' && !file.startsWith('file:')) closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  // Takes effect only in a file with no tables yet (a new store): pages freed
  // by retention can then be given back (incremental_vacuum). An older file
  // keeps auto_vacuum = NONE and reuses its freed pages without shrinking.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  // After a checkpoint, the WAL is cut back to this size (else it stays as large as its largest burst).
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
