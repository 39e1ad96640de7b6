// Function state as a function sees it: `context.kv` (Lambda, OpenWhisk) and
// `env.KV` (fetch handlers), a key-value store of the function's own. Every
// operation goes to the host over the sandbox's control channel (a transport the
// engine hands in: the agent's frames or the isolate's host call), and the host
// binds the store to the sandbox's function: nothing here names a function, so
// code cannot reach another's store. Limits are checked here first so that a
// mistake is a plain Error the function can catch; the host checks them again.
// Values are anything JSON.stringify accepts (strings, numbers, booleans, null,
// arrays, plain objects), stored as their JSON text.
import { utf8Length } from './base64.guest.ts';

export const KV_LIMITS = {
  keyBytes: 512,
  valueBytes: 1024 * 1024,
  pageKeys: 1000,
  /** About ten years: a longer time to live is a mistake (seconds given as milliseconds, say). */
  ttlSecondsMax: 315_360_000,
} as const;

/** One operation, as the guest sends it; `value` is JSON text. */
export type KvRequest =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string; ttlSeconds?: number }
  | { op: 'delete'; key: string }
  | { op: 'list'; prefix: string; cursor?: string; limit: number }
  | { op: 'increment'; key: string; by: number };

/**
 * The host's answer. result: get → JSON text or null; put → null; delete → whether a
 * key was there; list → KvPage; increment → the new number.
 */
export interface KvAnswer {
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface KvPage {
  keys: { name: string; expiresAt: number | null }[];
  /** Pass it back as `cursor` for the next page; null on the last page. */
  cursor: string | null;
}

export interface FunctionKv {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown, options?: { ttlSeconds?: number }): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<KvPage>;
  increment(key: string, by?: number): Promise<number>;
}

export type KvTransport = (request: KvRequest) => Promise<KvAnswer>;

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new TypeError(`KV key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
  const bytes = utf8Length(key);
  if (bytes > KV_LIMITS.keyBytes)
    throw new RangeError(`KV key of ${bytes} bytes is over the ${KV_LIMITS.keyBytes}-byte limit; use a shorter key`);
  return key;
}

function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`KV value cannot be stored: ${(e as Error).message}`);
  }
  if (text === undefined)
    throw new TypeError(
      `KV value must be JSON-serialisable (string, number, boolean, null, array or object), not ${typeof value}`,
    );
  const bytes = utf8Length(text);
  if (bytes > KV_LIMITS.valueBytes)
    throw new RangeError(
      `KV value of ${bytes} bytes (as JSON) is over the ${KV_LIMITS.valueBytes}-byte limit; store less`,
    );
  return text;
}

function checkTtl(ttl: unknown): number | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > KV_LIMITS.ttlSecondsMax)
    throw new RangeError(`ttlSeconds must be a whole number from 1 to ${KV_LIMITS.ttlSecondsMax}, got ${String(ttl)}`);
  return ttl;
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return KV_LIMITS.pageKeys;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > KV_LIMITS.pageKeys)
    throw new RangeError(`list limit must be a whole number from 1 to ${KV_LIMITS.pageKeys}, got ${String(limit)}`);
  return limit;
}

/** The KV object a function gets; every method returns a promise and rejects with a plain Error. */
export function kvClient(send: KvTransport): FunctionKv {
  const call = async (request: KvRequest): Promise<unknown> => {
    const answer = await send(request);
    if (!answer.ok) throw new Error(answer.error ?? 'the KV operation failed');
    return answer.result;
  };
  return Object.freeze({
    async get(key: string) {
      const text = await call({ op: 'get', key: checkKey(key) });
      return typeof text === 'string' ? (JSON.parse(text) as unknown) : null;
    },
    async put(key: string, value: unknown, options?: { ttlSeconds?: number }) {
      const ttlSeconds = checkTtl(options?.ttlSeconds);
      const request: KvRequest = { op: 'put', key: checkKey(key), value: toJson(value) };
      if (ttlSeconds !== undefined) request.ttlSeconds = ttlSeconds;
      await call(request);
    },
    async delete(key: string) {
      return (await call({ op: 'delete', key: checkKey(key) })) === true;
    },
    async list(options: { prefix?: string; cursor?: string; limit?: number } = {}) {
      const prefix = options.prefix ?? '';
      if (typeof prefix !== 'string' || utf8Length(prefix) > KV_LIMITS.keyBytes)
        throw new RangeError(`list prefix must be a string of at most ${KV_LIMITS.keyBytes} bytes`);
      const request: KvRequest = { op: 'list', prefix, limit: checkLimit(options.limit) };
      if (options.cursor !== undefined && options.cursor !== null) {
        if (typeof options.cursor !== 'string') throw new TypeError('list cursor must be the string a page gave');
        request.cursor = options.cursor;
      }
      return (await call(request)) as KvPage;
    },
    async increment(key: string, by = 1) {
      if (typeof by !== 'number' || !Number.isFinite(by))
        throw new TypeError(`increment needs a finite number to add, got ${String(by)}`);
      return (await call({ op: 'increment', key: checkKey(key), by })) as number;
    },
  });
}

/** Operations in flight over a channel that carries one answer per id (the agent's). */
export class KvCalls {
  private next = 0;
  private readonly waiting = new Map<string, (answer: KvAnswer) => void>();
  readonly kv: FunctionKv;

  constructor(post: (id: string, request: KvRequest) => void) {
    this.kv = kvClient(
      (request) =>
        new Promise((resolve) => {
          // Not a bare number: ids share the channel with the host's pings.
          const id = `kv${++this.next}`;
          this.waiting.set(id, resolve);
          post(id, request);
        }),
    );
  }

  answered(id: string, answer: KvAnswer): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(answer);
  }
}
