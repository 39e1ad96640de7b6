// A PostgreSQL connection as the store uses it: statements written with `?`
// placeholders (statements.ts, shared with SQLite), numbered here, and named
// (prepared once per connection) wherever that is safe.
import pg from 'pg';
import * as SQL from '../statements.ts';

/** A connection's statements, `?` placeholders numbered; errors as they come (the caller translates). */
export interface Connection {
  all<R>(sql: string, args?: unknown[]): Promise<R[]>;
  get<R>(sql: string, args?: unknown[]): Promise<R | undefined>;
  /** Runs a statement that changes rows; returns how many it changed. */
  run(sql: string, args?: unknown[]): Promise<number>;
  /** Runs SQL text as it is, statements separated by `;` (a migration), with no arguments. */
  exec(sql: string): Promise<void>;
  /** A statement's rows (SELECT or RETURNING) and how many rows it changed. */
  query(sql: string, args?: unknown[]): Promise<{ rows: Record<string, unknown>[]; changes: number }>;
}

/**
 * Statements by their text: each connection parses and plans a named statement
 * once, where an unnamed one is parsed and planned on every call (most of
 * PostgreSQL's work for the point reads and writes of a call). Bounded: texts
 * past the first PREPARED_TEXTS (lists with varying filters) stay unnamed, and
 * so do those selecting `*`, so that a process keeps working while another
 * one's migration adds a column.
 */
const PREPARED_TEXTS = 256;
const prepared = new Map<string, pg.QueryConfig>();
function statement(sql: string, values: unknown[]): pg.QueryConfig {
  let config = prepared.get(sql);
  if (!config) {
    config = { text: SQL.numbered(sql) };
    // A prepared `SELECT *` would fail once a migration adds a column (its result type changed): left unnamed.
    if (prepared.size < PREPARED_TEXTS && !/\*\s+FROM\s+(?!unnest)|RETURNING\s+\*/i.test(sql))
      prepared.set(sql, (config = { ...config, name: `nimbus_${prepared.size}` }));
  }
  return { ...config, values };
}

export const on = (c: pg.Pool | pg.PoolClient): Connection => ({
  all: async <R>(sql: string, args: unknown[] = []) => (await c.query(statement(sql, args))).rows as R[],
  get: async <R>(sql: string, args: unknown[] = []) => (await c.query(statement(sql, args))).rows[0] as R | undefined,
  run: async (sql: string, args: unknown[] = []) => (await c.query(statement(sql, args))).rowCount ?? 0,
  exec: async (sql: string) => void (await c.query(sql)),
  query: async (sql: string, args: unknown[] = []) => {
    const r = await c.query(statement(sql, args));
    return { rows: r.rows as Record<string, unknown>[], changes: r.rowCount ?? 0 };
  },
});
