// API keys: root manages every namespace's, an admin key only its own
// namespace's. The key itself is in the 201 answer and nowhere afterwards.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NimbusError } from '../../shared/errors.ts';
import type { SqlDb } from '../../storage/sql-db.ts';
import { createKey, getKey, listKeys, revokeKey, type KeyCache } from '../../tenancy/keys.ts';
import { checkNamespaceName } from '../../tenancy/names.ts';
import { ROLES, principalOf, type Principal } from '../../tenancy/principal.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';

const CreateBody = z
  .object({
    /** Default: the caller's namespace. */
    namespace: z.string().max(200).optional(),
    role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }),
  })
  .strict();

/** An admin key acts on its own namespace's keys only; root on any. */
function mayManage(p: Principal, namespace: string): boolean {
  return p.role === 'root' || p.namespace === namespace;
}

/** `keys`: a cluster front end's cache of live keys, dropped everywhere before a revoke answers. */
export function keyRoutes(app: FastifyInstance, sql: SqlDb, keys?: KeyCache): void {
  app.post('/v1/keys', async (request, reply) => {
    const p = principalOf(request, 'admin');
    if (!isJson(request)) throw new NimbusError('bad_request', `send JSON {namespace?, role: ${ROLES.join('|')}}`);
    const body = parseOrThrow(CreateBody, parseJson(rawBody(request), 'the key request'), 'key request');
    const namespace = checkNamespaceName(body.namespace ?? p.namespace);
    // Refused before looking the namespace up, so an admin learns nothing of other namespaces.
    if (!mayManage(p, namespace))
      throw new NimbusError(
        'forbidden',
        `an admin key makes keys of its own namespace ("${p.namespace}") only; root makes keys of others`,
      );
    const made = await createKey(sql, namespace, body.role);
    return reply.code(201).send({ id: made.id, key: made.key, namespace, role: made.role, prefix: made.prefix });
  });

  app.get<{ Querystring: { namespace?: string } }>('/v1/keys', async (request) => {
    const p = principalOf(request, 'admin');
    const asked = request.query.namespace ? checkNamespaceName(request.query.namespace) : undefined;
    if (p.role !== 'root') {
      if (asked !== undefined && asked !== p.namespace)
        throw new NimbusError('forbidden', `an admin key lists the keys of its own namespace ("${p.namespace}") only`);
      return { keys: await listKeys(sql, p.namespace) };
    }
    return { keys: await listKeys(sql, asked) };
  });

  app.delete<{ Params: { id: string } }>('/v1/keys/:id', async (request) => {
    const p = principalOf(request, 'admin');
    const key = await getKey(sql, request.params.id);
    // Another namespace's key is a 404, like one that never was.
    if (!key || !mayManage(p, key.namespace))
      throw new NimbusError('not_found', `key ${request.params.id.slice(0, 64)} does not exist`);
    await revokeKey(sql, key.id);
    await keys?.dropEverywhere();
    return { revoked: key.id };
  });
}
