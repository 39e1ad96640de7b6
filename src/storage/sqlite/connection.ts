// Opens a connection to the store's SQLite file with the settings every
// connection to it must share: WAL, fsync at checkpoints only, foreign keys,
// and waiting (not failing) while another connection writes.
import Database from 'better-sqlite3';

export function openConnection(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
