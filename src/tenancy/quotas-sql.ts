// Quota counts in the shared store (migration 006), so that they hold across
// every front end and invoker of a cluster. Each operation is one statement,
// one round trip, atomic on its own (no transaction):
// - a rate window is a row per namespace and minute, counted by an upsert
//   that stops at the limit (RETURNING says whether this call was counted);
// - an execution running holds a slot row: (namespace, slot) is the primary
//   key and slot < maxConcurrent, so two callers can never hold one slot, and
//   a slot whose lease expired (its holder crashed) can be taken over. This
//   process renews its leases every RENEW_MS; they expire LEASE_MS after.
import { randomBytes, randomInt } from 'node:crypto';
import type { SqlDb } from '../storage/sql-db.ts';
import type { QuotaCounter, Release } from './quotas-counter.ts';

/** How long a lease lives without renewal: a crashed process's slots come back within this. */
export const LEASE_MS = 30_000;
const RENEW_MS = 10_000;
/** Attempts at a free slot before giving up when other callers keep taking the free ones first. */
const TRIES = 4;

const COUNT = `INSERT INTO quota_rate (namespace, minute, count) VALUES (?, ?, 1)
  ON CONFLICT (namespace, minute) DO UPDATE SET count = quota_rate.count + 1 WHERE quota_rate.count < ?
  RETURNING count`;
const TAKE = `INSERT INTO quota_leases (namespace, slot, owner, lease, expires_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (namespace, slot) DO UPDATE SET owner = excluded.owner, lease = excluded.lease, expires_at = excluded.expires_at
  WHERE quota_leases.expires_at <= ?
  RETURNING slot`;
const TAKEN = 'SELECT slot FROM quota_leases WHERE namespace = ? AND slot < ? AND expires_at > ?';
const GIVE_BACK = 'DELETE FROM quota_leases WHERE namespace = ? AND slot = ? AND lease = ?';
const RENEW = 'UPDATE quota_leases SET expires_at = ? WHERE owner = ? AND expires_at > ?';
const SWEEP_LEASES = 'DELETE FROM quota_leases WHERE expires_at <= ?';
const SWEEP_MINUTES = 'DELETE FROM quota_rate WHERE minute < ?';
const RUNNING = 'SELECT count(*) AS n FROM quota_leases WHERE namespace = ? AND expires_at > ?';
const COUNTED = 'SELECT count FROM quota_rate WHERE namespace = ? AND minute = ?';

export class SqlQuotaCounter implements QuotaCounter {
  /** This process, as the owner of the leases it renews. */
  private readonly owner = randomBytes(12).toString('hex');
  private readonly held = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sql: SqlDb,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void = () => undefined,
  ) {
    this.timer = setInterval(() => void this.renew(), RENEW_MS);
    this.timer.unref();
  }

  async countInvocation(namespace: string, minute: number, limit: number): Promise<boolean> {
    return (await this.sql.all(COUNT, [namespace, minute, limit])).length > 0;
  }

  async acquire(namespace: string, max: number): Promise<Release | undefined> {
    const lease = randomBytes(12).toString('hex');
    // A random slot first: while the namespace is far from its quota that one is free (one round trip).
    let slot = randomInt(max);
    for (let i = 0; i < TRIES; i++) {
      const now = Date.now();
      const took = await this.sql.all(TAKE, [namespace, slot, this.owner, lease, now + LEASE_MS, now]);
      if (took.length > 0) return this.releaser(namespace, slot, lease);
      const taken = new Set(
        (await this.sql.all<{ slot: number }>(TAKEN, [namespace, max, now])).map((r) => Number(r.slot)),
      );
      if (taken.size >= max) return undefined;
      const free = Array.from({ length: max }, (_, s) => s).filter((s) => !taken.has(s));
      slot = free[randomInt(free.length)]!;
    }
    return undefined;
  }

  private releaser(namespace: string, slot: number, lease: string): Release {
    this.held.add(lease);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.held.delete(lease);
      // A lease not given back (the store was unreachable) expires on its own.
      await this.sql
        .run(GIVE_BACK, [namespace, slot, lease])
        .catch((e: unknown) => this.log('could not give back a concurrency slot', { namespace, err: e }));
    };
  }

  /** Keeps this process's running leases alive, and removes what expired long ago. */
  private async renew(): Promise<void> {
    const now = Date.now();
    try {
      if (this.held.size > 0) await this.sql.run(RENEW, [now + LEASE_MS, this.owner, now]);
      await this.sql.run(SWEEP_LEASES, [now - LEASE_MS]);
      await this.sql.run(SWEEP_MINUTES, [Math.floor(now / 60_000) - 1]);
    } catch (e) {
      this.log('could not renew concurrency leases', { err: e });
    }
  }

  async usage(namespace: string, minute: number): Promise<{ running: number; invocationsThisMinute: number }> {
    const now = Date.now();
    const running = await this.sql.get<{ n: number | string }>(RUNNING, [namespace, now]);
    const counted = await this.sql.get<{ count: number | string }>(COUNTED, [namespace, minute]);
    return { running: Number(running?.n ?? 0), invocationsThisMinute: Number(counted?.count ?? 0) };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
