// Builds the front end's HTTP server (fastify): one raw-bytes body parser for
// every content type, API-key auth when required, the v1 routes, function
// routes, /healthz and /metrics, and the single error handler.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { NimbusConfig } from '../config/options.ts';
import type { Invoker } from '../engine/invoker.ts';
import type { Store } from '../storage/store.ts';
import type { Metrics } from '../shared/metrics.ts';
import { NimbusError } from '../shared/errors.ts';
import { requireApiKey } from './auth.ts';
import type { FunctionsService } from './functions-service.ts';
import { errorHandler, sendError } from './http-errors.ts';
import { collectRoutes } from './method-not-allowed.ts';
import type { InvocationsService } from './invocations-service.ts';
import { activationRoutes } from './routes/activations.ts';
import { functionRoutes } from './routes/functions.ts';
import { invokeRoutes } from './routes/invoke.ts';
import { sandboxRoutes } from './routes/sandboxes.ts';

export interface FrontendDeps {
  config: NimbusConfig;
  store: Store;
  metrics: Metrics;
  functions: FunctionsService;
  invocations: InvocationsService;
  invoker?: Invoker;
  apiKey?: string;
  logger: Logger;
}

export const DEPLOY_LIMIT_BYTES = 50 * 1024 * 1024;

export function buildServer(deps: FrontendDeps): FastifyInstance {
  const debug = deps.logger.isLevelEnabled('debug');
  const app = Fastify({
    // Request lines are logged at info: keep them out unless the platform logs at debug.
    loggerInstance: deps.logger.child({}, { level: debug ? 'info' : 'warn' }),
    // Without request lines, a child logger per request (its cost on every call) would serve
    // only the rare internal-error line, which names its request id itself.
    ...(debug ? {} : { childLoggerFactory: (logger: FastifyBaseLogger) => logger }),
    bodyLimit: deps.config.bodyLimitBytes,
    routerOptions: { maxParamLength: 200 },
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new NimbusError('not_found', `no route ${request.method} ${request.url.split('?')[0]}; see GET /v1/functions, POST /v1/functions/:name/invoke, ANY /fn/:name/*`)),
  );
  if (deps.apiKey) requireApiKey(app, deps.apiKey);
  const answerOtherMethods = collectRoutes(app);

  functionRoutes(app, deps.functions, Math.max(DEPLOY_LIMIT_BYTES, deps.config.bodyLimitBytes));
  invokeRoutes(app, deps.invocations);
  activationRoutes(app, deps.store);
  sandboxRoutes(app, deps.invoker, deps.functions);

  app.get('/healthz', async (_request, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ok', invoker: deps.invoker?.id ?? null };
    } catch (e) {
      return sendError(reply, new NimbusError('unavailable', `store unreachable: ${(e as Error).message}`));
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  answerOtherMethods();
  return app;
}
