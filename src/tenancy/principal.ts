// Who is calling: the namespace a request acts in and what its key may do.
// Every route asks `principalOf(request)` and checks one permission; the auth
// hook (frontend/auth.ts) is the only place that decides the principal, so a
// route cannot forget to scope itself without the route-table test noticing.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NimbusError } from '../shared/errors.ts';

export const ROLES = ['admin', 'developer', 'invoker', 'reader'] as const;
export type Role = (typeof ROLES)[number];

/** What a request may do, from least to most. */
export type Permission = 'read' | 'invoke' | 'deploy' | 'admin' | 'root';

export interface Principal {
  /** The namespace every name in the request is looked up in. */
  namespace: string;
  /** `root` is the platform's own key (or loopback without one on a developer machine). */
  role: Role | 'root';
  /** The API key's id, null for root. */
  keyId: string | null;
}

const GRANTS: Record<Principal['role'], ReadonlySet<Permission>> = {
  root: new Set(['read', 'invoke', 'deploy', 'admin', 'root']),
  admin: new Set(['read', 'invoke', 'deploy', 'admin']),
  developer: new Set(['read', 'invoke', 'deploy']),
  invoker: new Set(['invoke']),
  reader: new Set(['read']),
};

export function allows(p: Principal, permission: Permission): boolean {
  return GRANTS[p.role].has(permission);
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Makes room for the principal on every request (before any hook sets it). */
export function decoratePrincipal(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
}

/** The request's principal, checked for one permission: 403 naming the role and what it lacks. */
export function principalOf(request: FastifyRequest, permission: Permission): Principal {
  const p = request.principal;
  if (!p) throw new NimbusError('internal', 'no principal on this request: the auth hook did not run');
  if (!allows(p, permission)) {
    throw new NimbusError(
      'forbidden',
      `a key with role "${p.role}" may not ${permission === 'root' ? 'use root-only routes' : permission} (namespace "${p.namespace}"); ask for a key with a role that can`,
    );
  }
  return p;
}
