// The triggers table and the cron state beside it (migration 007), on either
// store through its plain SQL door. Every read and write names the namespace;
// the only reads across namespaces are the ones the cron ticker and the topic
// index make to load every trigger of a type.
import type { SqlDb } from '../storage/sql-db.ts';
import { TriggerSpec } from './trigger-spec.ts';

export interface TriggerRecord {
  namespace: string;
  name: string;
  spec: TriggerSpec;
  /** The qualified name of the function it starts (without a version or alias). */
  functionName: string;
  createdAt: string;
  updatedAt: string;
}

interface TriggerRow {
  namespace: string;
  name: string;
  spec: string;
  function_name: string;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'namespace, name, spec, function_name, created_at, updated_at';

const toRecord = (r: TriggerRow): TriggerRecord => ({
  namespace: r.namespace,
  name: r.name,
  // Stored only after validation; parsed again so a hand-edited row cannot reach the ticker malformed.
  spec: TriggerSpec.parse(JSON.parse(r.spec)),
  functionName: r.function_name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class TriggerStore {
  constructor(private readonly sql: SqlDb) {}

  /**
   * Creates or replaces a trigger in one transaction, with its cron state: a
   * cron trigger's schedule starts at `nowMs` (no tick before it fires), a
   * topic trigger has none. Returns whether it is new.
   */
  async put(namespace: string, name: string, spec: TriggerSpec, functionName: string, nowMs: number) {
    const now = new Date(nowMs).toISOString();
    const topic = spec.type === 'topic' ? spec.topic : null;
    const results = await this.sql.batch([
      { sql: 'SELECT created_at FROM triggers WHERE namespace = ? AND name = ?', args: [namespace, name] },
      {
        sql: `INSERT INTO triggers (namespace, name, type, topic, function_name, spec, created_at, updated_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (namespace, name) DO UPDATE SET type = excluded.type, topic = excluded.topic,
                function_name = excluded.function_name, spec = excluded.spec, updated_at = excluded.updated_at`,
        args: [namespace, name, spec.type, topic, functionName, JSON.stringify(spec), now, now],
      },
      spec.type === 'cron'
        ? {
            sql: `INSERT INTO cron_state (namespace, name, last_tick) VALUES (?, ?, ?)
                  ON CONFLICT (namespace, name) DO UPDATE SET last_tick = excluded.last_tick`,
            args: [namespace, name, nowMs],
          }
        : { sql: 'DELETE FROM cron_state WHERE namespace = ? AND name = ?', args: [namespace, name] },
    ]);
    const before = results[0]?.rows[0] as { created_at: string } | undefined;
    const record: TriggerRecord = {
      namespace,
      name,
      spec,
      functionName,
      createdAt: before?.created_at ?? now,
      updatedAt: now,
    };
    return { created: before === undefined, record };
  }

  async get(namespace: string, name: string): Promise<TriggerRecord | undefined> {
    const row = await this.sql.get<TriggerRow>(`SELECT ${COLUMNS} FROM triggers WHERE namespace = ? AND name = ?`, [
      namespace,
      name,
    ]);
    return row && toRecord(row);
  }

  async list(namespace: string): Promise<TriggerRecord[]> {
    const rows = await this.sql.all<TriggerRow>(`SELECT ${COLUMNS} FROM triggers WHERE namespace = ? ORDER BY name`, [
      namespace,
    ]);
    return rows.map(toRecord);
  }

  /** Every trigger of a type, in every namespace (the ticker's and the topic index's load). */
  async allOfType(type: TriggerSpec['type']): Promise<TriggerRecord[]> {
    const rows = await this.sql.all<TriggerRow>(`SELECT ${COLUMNS} FROM triggers WHERE type = ?`, [type]);
    return rows.map(toRecord);
  }

  /** The triggers that start a function (qualified name), whatever version or alias they name. */
  async usedBy(functionName: string): Promise<TriggerRecord[]> {
    const rows = await this.sql.all<TriggerRow>(
      `SELECT ${COLUMNS} FROM triggers WHERE function_name = ? ORDER BY name`,
      [functionName],
    );
    return rows.map(toRecord);
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    const [deleted] = await this.sql.batch([
      { sql: 'DELETE FROM triggers WHERE namespace = ? AND name = ?', args: [namespace, name] },
      { sql: 'DELETE FROM cron_state WHERE namespace = ? AND name = ?', args: [namespace, name] },
    ]);
    return (deleted?.changes ?? 0) > 0;
  }

  /** Deletes every trigger of a function (a forced function delete). */
  async deleteUsedBy(functionName: string): Promise<number> {
    const [, deleted] = await this.sql.batch([
      {
        sql: `DELETE FROM cron_state WHERE EXISTS (SELECT 1 FROM triggers t WHERE t.namespace = cron_state.namespace
                AND t.name = cron_state.name AND t.function_name = ?)`,
        args: [functionName],
      },
      { sql: 'DELETE FROM triggers WHERE function_name = ?', args: [functionName] },
    ]);
    return deleted?.changes ?? 0;
  }

  /** Every cron trigger with the last tick it fired (ms), in every namespace: what the cron leader loads. */
  async cronSchedules(): Promise<{ record: TriggerRecord; lastTick: number }[]> {
    const rows = await this.sql.all<TriggerRow & { last_tick: number | string }>(
      `SELECT t.namespace, t.name, t.spec, t.function_name, t.created_at, t.updated_at, c.last_tick
         FROM triggers t JOIN cron_state c ON c.namespace = t.namespace AND c.name = t.name
        WHERE t.type = 'cron'`,
    );
    return rows.map((r) => ({ record: toRecord(r), lastTick: Number(r.last_tick) }));
  }

  /** The last tick a cron trigger fired (ms; when it was set, before its first), undefined without cron state. */
  async lastTick(namespace: string, name: string): Promise<number | undefined> {
    const row = await this.sql.get<{ last_tick: number | string }>(
      'SELECT last_tick FROM cron_state WHERE namespace = ? AND name = ?',
      [namespace, name],
    );
    return row && Number(row.last_tick);
  }

  /** Moves a cron trigger's schedule on past `tick` (never back: a slower second leader cannot rewind it). */
  async advance(namespace: string, name: string, tick: number): Promise<void> {
    await this.sql.run('UPDATE cron_state SET last_tick = ? WHERE namespace = ? AND name = ? AND last_tick < ?', [
      tick,
      namespace,
      name,
      tick,
    ]);
  }
}
