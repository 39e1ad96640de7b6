// What both of a front end's origins share: the fastify instance with its
// logging, one raw-bytes body parser for every content type, the single error
// handler, and the walls in front of every route (the Host check on loopback
// without a key, the API key otherwise).
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { NimbusConfig } from '../config/options.ts';
import type { NimbusError } from '../shared/errors.ts';
import { requireApiKey } from './auth.ts';
import { requireLoopbackHost } from './host-check.ts';
import { clientErrorResponse, errorHandler, sendError, toNimbusError } from './http-errors.ts';

export interface AppOptions {
  config: NimbusConfig;
  logger: Logger;
  apiKey?: string;
  /** The 404 for a path this origin does not serve. */
  notFound: (request: FastifyRequest) => NimbusError;
}

export function createApp(o: AppOptions): FastifyInstance {
  const debug = o.logger.isLevelEnabled('debug');
  const app = Fastify({
    // Request lines are logged at info: keep them out unless the platform logs at debug.
    loggerInstance: o.logger.child({}, { level: debug ? 'info' : 'warn' }),
    // Without request lines, a child logger per request (its cost on every call) would serve
    // only the rare internal-error line, which names its request id itself.
    ...(debug ? {} : { childLoggerFactory: (logger: FastifyBaseLogger) => logger }),
    bodyLimit: o.config.bodyLimitBytes,
    routerOptions: { maxParamLength: 200 },
    // Requests refused before any route runs (a bad URL, a parameter over maxParamLength, what
    // Node's parser rejects) get the same error shape as every other answer.
    frameworkErrors: (e, _request, reply) => sendError(reply, toNimbusError(e)),
    clientErrorHandler: (e: Error, socket: Duplex) => {
      const response = clientErrorResponse(e);
      if (response !== undefined && socket.writable) socket.write(response);
      socket.destroy();
    },
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(reply, o.notFound(request)));
  // Without a key nimbus only listens on loopback (the platform requires one beyond it).
  if (o.apiKey) requireApiKey(app, o.apiKey);
  else requireLoopbackHost(app, o.config.host);
  return app;
}

/** Listens, or says which option moves the listener when its port is taken. */
export async function listenOrExplain(app: FastifyInstance, host: string, port: number, what: string, option: string): Promise<string> {
  try {
    await app.listen({ host, port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
    throw new Error(`the ${what} cannot listen on ${host}:${port} (${code}); choose another port with ${option}`);
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}
