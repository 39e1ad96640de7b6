// API keys cached on every cluster front end (tenancy/keys.ts KeyCache), so a
// keyed call reads no database row to learn who it is. A revoke, or a
// namespace delete (which deletes its keys), drops every live front end's
// cache by an acknowledged bus broadcast before it answers: the promise that
// a revoked key is a 401 at once on every front end holds. The TTL bounds a
// front end that missed the broadcast. Embedded (SQLite, one process) reads
// the key each time, as before: that read costs microseconds there.
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import type { SqlDb } from '../storage/sql-db.ts';
import { KeyCache } from '../tenancy/keys.ts';

export const KEY_CACHE_SUBJECT = 'nimbus.keys.cache';
export const KEY_CACHE_TTL_MS = 10_000;
const DROP_ACK_TIMEOUT_MS = 2_000;

export async function shareKeyCache(
  sql: SqlDb,
  bus: Bus,
  log: (msg: string) => void,
): Promise<{ cache?: KeyCache; stop: Unsubscribe }> {
  if (sql.dialect !== 'postgres') return { stop: async () => undefined };
  const cache = new KeyCache(KEY_CACHE_TTL_MS, async () => {
    cache.dropAll(); // this front end at once, whatever the bus does
    const report = await bus.broadcastAcked(KEY_CACHE_SUBJECT, {}, DROP_ACK_TIMEOUT_MS);
    if (report.missing.length)
      log(
        `front ends ${report.missing.join(', ')} did not confirm within ${DROP_ACK_TIMEOUT_MS} ms that they dropped their cached API keys; they read them again within ${KEY_CACHE_TTL_MS / 1000} s`,
      );
  });
  const stop = await bus.listenAcked(KEY_CACHE_SUBJECT, async () => cache.dropAll());
  return { cache, stop };
}
