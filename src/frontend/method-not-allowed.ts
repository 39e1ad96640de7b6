// Every API path answers the methods it does not serve with 405 and an Allow
// header naming those it does (GET on an invoke URL is a wrong method, not an
// unknown route), and OPTIONS with 204 and the same Allow header. Collects the
// routes as they are added, then fills the gaps.
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../shared/errors.ts';
import { sendError } from './http-errors.ts';
import { FILLER } from './route-list.ts';

const API_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/** Call before the routes are added; call the function it returns after. */
export function collectRoutes(app: FastifyInstance): () => void {
  const served = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = served.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m);
    served.set(route.url, methods);
  });
  return () => {
    for (const [url, methods] of [...served]) {
      const missing = API_METHODS.filter((m) => !methods.has(m));
      if (missing.length === 0) continue;
      const allow = API_METHODS.filter((m) => methods.has(m)).join(', ');
      if (!methods.has('OPTIONS'))
        app.options(url, { config: FILLER }, (_request, reply) => reply.code(204).header('allow', allow).send());
      app.route({
        method: missing,
        url,
        config: FILLER,
        handler: (request, reply) =>
          sendError(
            reply,
            new NimbusError('method_not_allowed', `${request.method} is not allowed on ${url}; use ${allow}`),
            { allow },
          ),
      });
    }
  };
}
