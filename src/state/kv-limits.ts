// The host's checks of function state input, from a guest or an operator alike:
// the same limits the guest's client checks (KV_LIMITS), since a guest can skip
// its client. Each refusal says what was wrong and how to fix it.
import { KV_LIMITS } from '../guest/kv-client.guest.ts';
import { NimbusError } from '../shared/errors.ts';

export { KV_LIMITS };

export function checkKey(key: string): string {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0) throw new NimbusError('bad_request', 'a KV key must not be empty');
  if (bytes > KV_LIMITS.keyBytes)
    throw new NimbusError(
      'bad_request',
      `KV key of ${bytes} bytes is over the ${KV_LIMITS.keyBytes}-byte limit; use a shorter key`,
    );
  return key;
}

/** A value as JSON text: at most 1 MB, and JSON (what a get hands back must parse). */
export function checkValueJson(text: string): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > KV_LIMITS.valueBytes)
    throw new NimbusError(
      'payload_too_large',
      `KV value of ${bytes} bytes (as JSON) is over the ${KV_LIMITS.valueBytes}-byte limit; store less`,
    );
  try {
    JSON.parse(text);
  } catch {
    throw new NimbusError('bad_request', 'a KV value must be JSON text');
  }
  return text;
}

export function checkTtl(ttl: number | undefined): number | undefined {
  if (ttl === undefined) return undefined;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > KV_LIMITS.ttlSecondsMax)
    throw new NimbusError(
      'bad_request',
      `ttlSeconds must be a whole number from 1 to ${KV_LIMITS.ttlSecondsMax}, got ${String(ttl)}`,
    );
  return ttl;
}

export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return KV_LIMITS.pageKeys;
  if (!Number.isInteger(limit) || limit < 1 || limit > KV_LIMITS.pageKeys)
    throw new NimbusError(
      'bad_request',
      `limit must be a whole number from 1 to ${KV_LIMITS.pageKeys}, got ${String(limit)}`,
    );
  return limit;
}

export function checkPrefix(prefix: string): string {
  if (Buffer.byteLength(prefix) > KV_LIMITS.keyBytes)
    throw new NimbusError('bad_request', `a KV prefix may be at most ${KV_LIMITS.keyBytes} bytes`);
  return prefix;
}

/** A page's cursor is its last key, base64url: opaque to callers, and only ever a key of the same store. */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || !/^[A-Za-z0-9_-]*$/.test(cursor) || Buffer.byteLength(key) > KV_LIMITS.keyBytes)
    throw new NimbusError('bad_request', 'the cursor is not one a list page gave; pass back the cursor as it came');
  return key;
}
