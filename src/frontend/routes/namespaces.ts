// Namespaces (root only, but a key may read its own): create with quotas,
// list, read, delete (409 while it has functions, unless ?force=1).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NimbusError } from '../../shared/errors.ts';
import type { Store } from '../../storage/store.ts';
import {
  createNamespace,
  deleteNamespace,
  getNamespace,
  listNamespaces,
  namespaceNotFound,
} from '../../tenancy/namespaces.ts';
import { checkNamespaceName } from '../../tenancy/names.ts';
import { principalOf } from '../../tenancy/principal.ts';
import type { QuotaGate } from '../../tenancy/quotas.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import type { FunctionsService } from '../functions-service.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';
import type { KeyCache } from '../../tenancy/keys.ts';

const CreateBody = z.object({ name: z.string().max(200), quotas: z.unknown().optional() }).strict();

const FORCE = new Map([
  ['1', true],
  ['true', true],
  ['0', false],
  ['false', false],
]);

export function namespaceRoutes(
  app: FastifyInstance,
  store: Store,
  functions: FunctionsService,
  quotas?: QuotaGate,
  /** A cluster front end's cache of live keys: the namespace's keys go with it, on every front end. */
  keys?: KeyCache,
): void {
  const sql = store.sql;
  app.post('/v1/namespaces', async (request, reply) => {
    principalOf(request, 'root');
    if (!isJson(request)) throw new NimbusError('bad_request', 'send JSON {name, quotas?}');
    const body = parseOrThrow(CreateBody, parseJson(rawBody(request), 'the namespace request'), 'namespace request');
    return reply.code(201).send(await createNamespace(sql, body.name, body.quotas));
  });

  app.get('/v1/namespaces', async (request) => {
    principalOf(request, 'root');
    return { namespaces: await listNamespaces(sql) };
  });

  // A key reads its own namespace (its quotas); any other is a 404, as if it did not exist.
  app.get<{ Params: { ns: string } }>('/v1/namespaces/:ns', async (request) => {
    const p = principalOf(request, 'read');
    const ns = checkNamespaceName(request.params.ns);
    const found = p.role === 'root' || ns === p.namespace ? await getNamespace(sql, ns) : undefined;
    if (!found) throw namespaceNotFound(ns);
    return quotas ? { ...found, usage: await quotas.usage(ns) } : found; // usage: tenancy/quotas.ts
  });

  app.delete<{ Params: { ns: string }; Querystring: { force?: string } }>('/v1/namespaces/:ns', async (request) => {
    principalOf(request, 'root');
    const force = FORCE.get(request.query.force ?? '0');
    if (force === undefined) throw new NimbusError('bad_request', 'force must be 1, true, 0 or false');
    const deps = {
      sql,
      functionNames: async () => (await store.listFunctions()).map((f) => f.name),
      // force: a namespace going away takes its triggers with its functions (else they make the delete a 409).
      deleteFunction: (q: string) => functions.delete(q, true),
    };
    let deletedFunctions;
    try {
      deletedFunctions = await deleteNamespace(deps, request.params.ns, force);
    } finally {
      await keys?.dropEverywhere(); // also after a delete that stopped half way: its keys may be gone
    }
    return { deleted: request.params.ns, functions: deletedFunctions };
  });
}
