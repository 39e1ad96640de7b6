// The store's plain SQL door, for the platform's smaller tables (namespaces,
// keys, aliases, secrets, triggers, KV, quota counters): each feature writes its
// SQL once, in `?` form, and runs it on either backend through this, instead of
// growing the Store contract by a method per query. Backends differ only where
// the Store contract says they do; here, SQLite runs every call synchronously on
// its single connection and PostgreSQL on its pool.
import type { Statement } from './statements.ts';

export interface StatementResult {
  /** The rows a SELECT or a RETURNING clause gave. */
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface SqlDb {
  /** Which backend runs the SQL, for the rare statement that must differ (say why beside it). */
  readonly dialect: 'sqlite' | 'postgres';
  all<R>(sql: string, args?: unknown[]): Promise<R[]>;
  get<R>(sql: string, args?: unknown[]): Promise<R | undefined>;
  /** Runs a statement that changes rows; returns how many it changed. */
  run(sql: string, args?: unknown[]): Promise<number>;
  /**
   * Runs the statements in one transaction, all or nothing. A statement's
   * result may decide the next only through SQL (WHERE EXISTS …): build the
   * list before calling. `check` sees each result as it comes and may throw to
   * roll the whole batch back (a refused change writes nothing).
   */
  batch(statements: Statement[], check?: (result: StatementResult, index: number) => void): Promise<StatementResult[]>;
}
