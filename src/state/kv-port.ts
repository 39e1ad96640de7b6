// What a sandbox's KV operations reach: a port bound by the invoker to ONE
// function's store (its qualified name comes from the sandbox's spec, never from
// the guest's message). It answers every request, never throws: a refusal
// (over a limit, a non-number to increment, too many operations at once)
// becomes an error the function's code sees as a plain Error.
import type { KvAnswer, KvRequest } from '../guest/kv-protocol.ts';
import type { StatePort } from '../sandbox/driver.ts';
import { isNimbusError } from '../shared/errors.ts';
import type { KvStore } from './kv-store.ts';

/** Operations one sandbox may have waiting on the store at once: a loop that never awaits cannot queue without bound. */
export const MAX_KV_IN_FLIGHT = 64;

async function run(kv: KvStore, fn: string, r: KvRequest): Promise<unknown> {
  switch (r.op) {
    case 'get':
      return (await kv.get(fn, r.key))?.value ?? null;
    case 'put':
      await kv.put(fn, r.key, r.value, r.ttlSeconds);
      return null;
    case 'delete':
      return kv.delete(fn, r.key);
    case 'list':
      return kv.list(fn, { prefix: r.prefix, cursor: r.cursor, limit: r.limit });
    case 'increment':
      return kv.increment(fn, r.key, r.by);
  }
}

export function statePort(
  kv: KvStore,
  functionName: string,
  onFault?: (e: unknown, functionName: string) => void,
): StatePort {
  let inFlight = 0;
  return {
    async call(request: KvRequest): Promise<KvAnswer> {
      if (inFlight >= MAX_KV_IN_FLIGHT)
        return {
          ok: false,
          error: `more than ${MAX_KV_IN_FLIGHT} KV operations at once in one sandbox; await some before starting more`,
        };
      inFlight++;
      try {
        return { ok: true, result: await run(kv, functionName, request) };
      } catch (e) {
        if (isNimbusError(e) && e.code !== 'internal' && e.code !== 'unavailable')
          return { ok: false, error: e.message };
        onFault?.(e, functionName);
        return { ok: false, error: 'the KV store could not be reached; try again' };
      } finally {
        inFlight--;
      }
    },
  };
}
