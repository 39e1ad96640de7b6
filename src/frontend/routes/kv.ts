// Operators' door to function state: read, write, delete and list the keys of
// a function's KV store. The function is looked up in the caller's namespace
// (another namespace's function, or none, is a 404), and the key is the rest of
// the path (`/v1/kv/:function/*`), so a key may hold '/' and be as long as the
// 512-byte limit, which a single path parameter could not.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../storage/store.ts';
import { NimbusError } from '../../shared/errors.ts';
import { principalOf, type Permission } from '../../tenancy/principal.ts';
import { bareName, scopedName } from '../../tenancy/scope.ts';
import { KvStore } from '../../state/kv-store.ts';
import { parseJson, rawBody } from '../request-body.ts';

type KeyRoute = { Params: { function: string; '*': string } };
type ListRoute = { Params: { function: string }; Querystring: Record<string, string | undefined> };

const PutBody = z.strictObject({ value: z.unknown(), ttlSeconds: z.number().optional() });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function kvRoutes(app: FastifyInstance, store: Store): void {
  const kv = new KvStore(store.sql);

  /** The qualified name of the request's function, which must exist in the caller's namespace. */
  async function owner(request: FastifyRequest<{ Params: { function: string } }>, need: Permission): Promise<string> {
    const name = scopedName(principalOf(request, need), request.params.function);
    if (!(await store.getFunction(name)))
      throw new NimbusError('not_found', `function "${request.params.function}" does not exist`);
    return name;
  }

  const missing = (fn: string, key: string) =>
    new NimbusError('not_found', `no key "${key.slice(0, 200)}" in the KV store of function "${bareName(fn)}"`);

  app.get<ListRoute>('/v1/kv/:function', async (request) => {
    const fn = await owner(request, 'read');
    const { prefix, cursor, limit, ...rest } = request.query;
    const unknown = Object.keys(rest);
    if (unknown.length)
      throw new NimbusError('bad_request', `unknown query parameter "${unknown[0]}"; use prefix, cursor and limit`);
    for (const [k, v] of Object.entries({ prefix, cursor, limit }))
      if (v !== undefined && typeof v !== 'string') throw new NimbusError('bad_request', `give ${k} once`);
    if (limit !== undefined && !/^\d+$/.test(limit))
      throw new NimbusError('bad_request', `limit must be a whole number from 1 to 1000, got "${limit.slice(0, 20)}"`);
    const page = await kv.list(fn, { prefix, cursor: cursor || undefined, limit: limit ? Number(limit) : undefined });
    return { keys: page.keys.map((k) => ({ key: k.name, expiresAt: iso(k.expiresAt) })), cursor: page.cursor };
  });

  app.get<KeyRoute>('/v1/kv/:function/*', async (request) => {
    const fn = await owner(request, 'read');
    const key = request.params['*'];
    const entry = await kv.get(fn, key);
    if (!entry) throw missing(fn, key);
    return { key, value: JSON.parse(entry.value) as unknown, expiresAt: iso(entry.expiresAt) };
  });

  app.put<KeyRoute>('/v1/kv/:function/*', async (request) => {
    const fn = await owner(request, 'deploy');
    const key = request.params['*'];
    const body = PutBody.safeParse(parseJson(rawBody(request), 'the KV request'));
    if (!body.success || body.data.value === undefined)
      throw new NimbusError('bad_request', 'send JSON {"value": <any JSON>, "ttlSeconds"?: <whole seconds>}');
    const { expiresAt } = await kv.put(fn, key, JSON.stringify(body.data.value), body.data.ttlSeconds);
    return { key, expiresAt: iso(expiresAt) };
  });

  app.delete<KeyRoute>('/v1/kv/:function/*', async (request) => {
    const fn = await owner(request, 'deploy');
    const key = request.params['*'];
    if (!(await kv.delete(fn, key))) throw missing(fn, key);
    return { deleted: key };
  });
}
