// Which namespace a function-origin path names. `/fn/:name/*` is in the
// caller's namespace; `/fn/~ns/:name/*` names the namespace in the path, so a
// browser (which sends no x-nimbus-namespace) can reach a function of another
// namespace than default on a developer machine. A key may name only its own
// namespace there; any other is a 404, as an unknown function would be.
import type { FastifyRequest } from 'fastify';
import type { SqlDb } from '../storage/sql-db.ts';
import { NimbusError } from '../shared/errors.ts';
import { checkNamespaceName } from './names.ts';
import { namespaceExists } from './namespaces.ts';
import { principalOf, type Principal } from './principal.ts';

export interface FnTarget {
  /** The caller, acting in the namespace the path names. */
  principal: Principal;
  /** The function reference as written (name, name:3, name:alias). */
  ref: string;
  /** The path's prefix as the client wrote it; the function sees what follows. */
  prefix: string;
}

export async function fnTarget(request: FastifyRequest<{ Params: { name: string } }>, sql: SqlDb): Promise<FnTarget> {
  const p = principalOf(request, 'invoke');
  const segments = request.url.slice(4).split('?')[0]!.split('/');
  const first = segments[0] ?? '';
  if (!request.params.name.startsWith('~')) return { principal: p, ref: request.params.name, prefix: `/fn/${first}` };
  const namespace = checkNamespaceName(request.params.name.slice(1));
  const rest = (request.params as { '*'?: string })['*'] ?? '';
  const ref = decoded(rest.split('/')[0] ?? '');
  if (!ref)
    throw new NimbusError('not_found', `name a function after the namespace: /fn/~${namespace}/<function>/<path>`);
  const allowed = p.role === 'root' ? await namespaceExists(sql, namespace) : p.namespace === namespace;
  if (!allowed) throw new NimbusError('not_found', `function "${ref.slice(0, 80)}" does not exist`);
  return { principal: { ...p, namespace }, ref, prefix: `/fn/${first}/${segments[1] ?? ''}` };
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new NimbusError('bad_request', 'the function name in the path is not valid percent-encoding');
  }
}
