// Builds the management API's HTTP server (fastify): the v1 routes, /healthz
// and /metrics, on the walls and error handling every origin shares (app.ts).
// Function routes have their own origin (functions-server.ts); here /fn/*
// only says where that is, and every answer is JSON that browsers must not sniff.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { NimbusConfig } from '../config/options.ts';
import type { Invoker } from '../engine/invoker.ts';
import type { Store } from '../storage/store.ts';
import type { Metrics } from '../shared/metrics.ts';
import { NimbusError } from '../shared/errors.ts';
import { createApp } from './app.ts';
import type { FunctionsService } from './functions-service.ts';
import { collectRoutes } from './method-not-allowed.ts';
import type { InvocationsService } from './invocations-service.ts';
import { activationRoutes } from './routes/activations.ts';
import { functionRoutesMoved } from './routes/function-routes.ts';
import { functionRoutes } from './routes/functions.ts';
import { healthRoute } from './routes/health.ts';
import { invokeRoutes } from './routes/invoke.ts';
import { sandboxRoutes } from './routes/sandboxes.ts';
import { logRoutes } from './routes/logs.ts';
import type { Bus } from '../bus/bus.ts';
import { secretRoutes } from './routes/secrets.ts';
import type { Secrets } from '../tenancy/secrets.ts';
import { namespaceRoutes } from './routes/namespaces.ts';
import { keyRoutes } from './routes/keys.ts';
import type { KeyCache } from '../tenancy/keys.ts';
import { quotaRoutes } from './routes/quotas.ts';
import type { QuotaGate } from '../tenancy/quotas.ts';
import { aliasRoutes } from './routes/aliases.ts';
import { versionRoutes } from './routes/versions.ts';
import { principalOf } from '../tenancy/principal.ts';
import type { EventsService } from '../events/events-service.ts';
import { triggerRoutes } from './routes/triggers.ts';
import { topicRoutes } from './routes/topics.ts';
import { kvRoutes } from './routes/kv.ts';
import { reportRoutes } from './routes/reports.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { metricsReportRoutes } from './routes/report-metrics.ts';

export interface FrontendDeps {
  config: NimbusConfig;
  /** Live log lines reach followers through it (routes/logs.ts). */
  bus?: Bus;
  store: Store;
  metrics: Metrics;
  functions: FunctionsService;
  invocations: InvocationsService;
  invoker?: Invoker;
  /** Triggers and topics (src/events). */
  events?: EventsService;
  /** The namespaces' quotas (tenancy/quotas.ts). */
  quotas?: QuotaGate;
  /** Encrypted secrets of each namespace (tenancy/secrets.ts). */
  secrets: Secrets;
  apiKey?: string;
  /** Live API keys, on a cluster front end (key-cache.ts). */
  keyCache?: KeyCache;
  logger: Logger;
  /** Each origin's URL, filled in once both listen (messages name the other origin). */
  origins: { api: string; functions: string };
}

export const DEPLOY_LIMIT_BYTES = 50 * 1024 * 1024;

export function buildServer(deps: FrontendDeps): FastifyInstance {
  const app = createApp({
    ...deps,
    notFound: (request) =>
      new NimbusError(
        'not_found',
        `no route ${request.method} ${request.url.split('?')[0]}; see GET /v1/functions, POST /v1/functions/:name/invoke, and ANY /fn/:name/* on ${deps.origins.functions}`,
      ),
  });
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done();
  });
  const answerOtherMethods = collectRoutes(app);

  functionRoutes(app, deps.functions, Math.max(DEPLOY_LIMIT_BYTES, deps.config.bodyLimitBytes));
  invokeRoutes(app, deps.invocations);
  versionRoutes(app, deps.store);
  aliasRoutes(app, deps.store);
  functionRoutesMoved(app, () => deps.origins.functions);
  activationRoutes(app, deps.store);
  if (deps.bus) logRoutes(app, deps.store, deps.bus);
  sandboxRoutes(app, deps.invoker, deps.functions);
  kvRoutes(app, deps.store);
  reportRoutes(app, deps.store, deps.config);
  metricsReportRoutes(app, deps.store);
  namespaceRoutes(app, deps.store, deps.functions, deps.quotas, deps.keyCache);
  keyRoutes(app, deps.store.sql, deps.keyCache);
  if (deps.quotas) quotaRoutes(app, deps.store.sql, deps.quotas);
  secretRoutes(app, deps.secrets);
  if (deps.events) (triggerRoutes(app, deps.events), topicRoutes(app, deps.events));
  healthRoute(app, deps);
  dashboardRoutes(app);
  // Metrics name every namespace's functions: root only.
  app.get('/metrics', async (request, reply) => {
    principalOf(request, 'root');
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  answerOtherMethods();
  return app;
}
