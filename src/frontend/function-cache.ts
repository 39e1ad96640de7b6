// Function records cached on every front end of a cluster, so that a warm call
// reads no database row to learn which version it runs. A deploy or delete
// made through any front end drops the name from every front end's cache by
// an acknowledged bus broadcast before it answers; the TTL bounds how stale a
// front end can be that missed it (cut off from the bus, or started between
// its member hello and the broadcast). A missing function is never cached,
// and aliases are still read per call (targets.ts). SQLite, one process,
// keeps its own cache.
import { z } from 'zod';
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import type { Store } from '../storage/store.ts';

export const FUNCTION_CACHE_SUBJECT = 'nimbus.functions.cache';
/** The longest a front end keeps a record without reading it again, whatever the bus says. */
export const FUNCTION_CACHE_TTL_MS = 10_000;
/** How long a deploy waits for every live front end to drop its cached record. */
export const DROP_ACK_TIMEOUT_MS = 2_000;

const Drop = z.object({ names: z.array(z.string().min(1).max(300)).max(1000) });

/** Turns the store's cache on, kept true by the bus; a store without one (SQLite) is left as it is. */
export async function cacheFunctionRecords(store: Store, bus: Bus): Promise<Unsubscribe> {
  if (!store.cacheFunctions) return async () => undefined;
  const stop = await bus.listenAcked(FUNCTION_CACHE_SUBJECT, async (data) => {
    const parsed = Drop.safeParse(data);
    if (parsed.success) store.forgetFunctions(parsed.data.names);
  });
  store.cacheFunctions(FUNCTION_CACHE_TTL_MS);
  return stop;
}

/** Drops functions from every live front end's cache and waits until each has (or the timeout). */
export async function dropEverywhere(
  bus: Bus,
  names: string[],
  log: (msg: string, extra?: Record<string, unknown>) => void,
): Promise<void> {
  const report = await bus.broadcastAcked(FUNCTION_CACHE_SUBJECT, { names }, DROP_ACK_TIMEOUT_MS);
  if (report.missing.length)
    log(
      `front ends ${report.missing.join(', ')} did not confirm within ${DROP_ACK_TIMEOUT_MS} ms that they dropped ${names.join(', ')}; they read it again within ${FUNCTION_CACHE_TTL_MS / 1000} s`,
    );
}
