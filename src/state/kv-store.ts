// Function state, host side: a key-value store per function over the store's
// plain SQL door (SQLite embedded, PostgreSQL in a cluster). Every method takes
// the function's QUALIFIED name, which the caller decides (the invoker from the
// sandbox, an operator route from its principal's namespace), never the guest.
// Expired keys are hidden by the SQL itself and deleted lazily, at most once a
// minute per function, after a write.
import type { SqlDb } from '../storage/sql-db.ts';
import { NimbusError } from '../shared/errors.ts';
import type { KvPage } from '../guest/kv-client.guest.ts';
import * as SQL from './kv-sql.ts';
import {
  checkKey,
  checkLimit,
  checkPrefix,
  checkTtl,
  checkValueJson,
  decodeCursor,
  encodeCursor,
} from './kv-limits.ts';

const SWEEP_EVERY_MS = 60_000;

/** PostgreSQL hands BIGINT back as text. */
const millis = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export interface KvEntry {
  /** JSON text. */
  value: string;
  expiresAt: number | null;
}

/** A deleted function's state goes with it (a new function of that name starts empty). */
export function deleteFunctionState(sql: SqlDb, qualifiedName: string): Promise<number> {
  return sql.run(SQL.DELETE_ALL, [qualifiedName]);
}

export class KvStore {
  private readonly sweptAt = new Map<string, number>();

  constructor(
    private readonly sql: SqlDb,
    private readonly now: () => number = Date.now,
  ) {}

  async get(fn: string, key: string): Promise<KvEntry | undefined> {
    const row = await this.sql.get<{ value: string; expires_at: unknown }>(SQL.GET, [fn, checkKey(key), this.now()]);
    return row ? { value: row.value, expiresAt: millis(row.expires_at) } : undefined;
  }

  /** Stores JSON text under the key, replacing what was there (and its expiry). */
  async put(fn: string, key: string, valueJson: string, ttlSeconds?: number): Promise<{ expiresAt: number | null }> {
    checkKey(key);
    checkValueJson(valueJson);
    const ttl = checkTtl(ttlSeconds);
    const now = this.now();
    const expiresAt = ttl === undefined ? null : now + ttl * 1000;
    await this.sql.run(SQL.PUT, [fn, key, valueJson, expiresAt, now]);
    this.sweepSoon(fn, now);
    return { expiresAt };
  }

  /** Whether a live key was there. */
  async delete(fn: string, key: string): Promise<boolean> {
    const rows = await this.sql.all<{ expires_at: unknown }>(SQL.DELETE, [fn, checkKey(key)]);
    const now = this.now();
    return rows.some((r) => {
      const at = millis(r.expires_at);
      return at === null || at > now;
    });
  }

  /** Adds `by` to the number under the key (a missing or expired key counts as 0), in one statement. */
  async increment(fn: string, key: string, by: number): Promise<number> {
    checkKey(key);
    if (!Number.isFinite(by)) throw new NimbusError('bad_request', `increment needs a finite number, got ${by}`);
    const now = this.now();
    const row = await this.sql.get<{ value: string }>(SQL.INCREMENT, [fn, key, JSON.stringify(by), now, now, now, now]);
    if (!row)
      throw new NimbusError(
        'conflict',
        `KV key "${key.slice(0, 80)}" holds a value that is not a number; increment needs a number (or no key)`,
      );
    this.sweepSoon(fn, now);
    return Number(row.value);
  }

  /** Keys in byte order, live ones only; `cursor` continues where the previous page ended. */
  async list(fn: string, o: { prefix?: string; cursor?: string; limit?: number } = {}): Promise<KvPage> {
    const prefix = checkPrefix(o.prefix ?? '');
    const limit = checkLimit(o.limit);
    const after = o.cursor ? decodeCursor(o.cursor) : undefined;
    const args = [fn, after ?? prefix, [...prefix].length, prefix, this.now(), limit + 1];
    const rows = await this.sql.all<{ key: string; expires_at: unknown }>(
      after === undefined ? SQL.LIST_FIRST : SQL.LIST_AFTER,
      args,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      keys: page.map((r) => ({ name: r.key, expiresAt: millis(r.expires_at) })),
      cursor: rows.length > limit && last ? encodeCursor(last.key) : null,
    };
  }

  /** Everything the function stored (its deletion). */
  deleteAll(fn: string): Promise<number> {
    this.sweptAt.delete(fn);
    return deleteFunctionState(this.sql, fn);
  }

  /** Deletes the function's expired rows, at most once a minute per function, off the caller's path. */
  private sweepSoon(fn: string, now: number): void {
    if (now - (this.sweptAt.get(fn) ?? 0) < SWEEP_EVERY_MS) return;
    this.sweptAt.set(fn, now);
    void this.sql.run(SQL.SWEEP, [fn, now]).catch(() => this.sweptAt.delete(fn));
  }
}
