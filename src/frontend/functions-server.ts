// The function origin: a second listener (config.functionsPort, same host)
// that serves only ANY /fn/:name/* and /healthz. Being another origin than the
// management API, a function's cookies, HTML and scripts there can never act
// as the API's. Same walls: the Host check on loopback without a key, and the
// API key on function routes whenever one is required (as before the split).
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../shared/errors.ts';
import { createApp } from './app.ts';
import type { FrontendDeps } from './server.ts';
import { functionOriginRoutes } from './routes/function-routes.ts';
import { healthRoute } from './routes/health.ts';

export function buildFunctionsServer(deps: FrontendDeps): FastifyInstance {
  const app = createApp({
    ...deps,
    notFound: (request) =>
      new NimbusError(
        'not_found',
        `no route ${request.method} ${request.url.split('?')[0]} on the function origin: it serves only ANY /fn/:name/* and GET /healthz; the management API is at ${deps.origins.api}`,
      ),
  });
  functionOriginRoutes(app, deps.invocations, deps.store.sql);
  healthRoute(app, deps);
  return app;
}
