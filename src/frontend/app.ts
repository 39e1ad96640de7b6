// What both of a front end's origins share: the fastify instance with its
// logging, one raw-bytes body parser for every content type, the single error
// handler, and the walls in front of every route (the Host check on loopback
// without a key, the API key otherwise).
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { NimbusConfig } from '../config/options.ts';
import { NimbusError } from '../shared/errors.ts';
import { authenticate } from './auth.ts';
import { listRoutes } from './route-list.ts';
import { requireLoopbackHost } from './host-check.ts';
import { decoratePrincipal } from '../tenancy/principal.ts';
import type { Store } from '../storage/store.ts';
import type { KeyCache } from '../tenancy/keys.ts';
import { clientErrorResponse, errorHandler, sendError, toNimbusError } from './http-errors.ts';
import { afterUnreadBody, drainUnreadBody } from './drain-body.ts';

export interface AppOptions {
  config: NimbusConfig;
  logger: Logger;
  apiKey?: string;
  /** Where API keys and namespaces are looked up. */
  store: Store;
  /** Live API keys, on a cluster front end (key-cache.ts). */
  keyCache?: KeyCache;
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
    // Node would answer an HTTP/1.1 request without Host itself, with an empty 400: missingHost does, in our shape.
    http: { requireHostHeader: false },
    routerOptions: { maxParamLength: 200 },
    // Requests refused before any route runs (a bad URL, a parameter over maxParamLength, what
    // Node's parser rejects) get the same error shape as every other answer.
    frameworkErrors: (e, request, reply) => afterUnreadBody(request, () => sendError(reply, toNimbusError(e))),
    clientErrorHandler: answerClientError,
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  listRoutes(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(reply, o.notFound(request)));
  app.addHook('onRequest', rememberRequest);
  app.addHook('onRequest', missingHost);
  app.addHook('onSend', drainUnreadBody);
  decoratePrincipal(app);
  // Without a root key nimbus only listens on loopback (the platform requires one beyond it).
  if (!o.apiKey) requireLoopbackHost(app, o.config.host);
  authenticate(app, {
    rootKey: o.apiKey,
    sql: o.store.sql,
    keys: o.keyCache,
    onError: (e) => o.logger.warn({ err: e }, 'could not record when an API key was last used'),
  });
  return app;
}

/** The last request each connection carried: whether its answer is done and the connection stays open after it. */
const lastOnSocket = new WeakMap<Socket, { answer: ServerResponse; closes: boolean }>();

function rememberRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const closes = request.raw.httpVersion === '1.0' || /\bclose\b/i.test(String(request.headers.connection ?? ''));
  lastOnSocket.set(request.raw.socket, { answer: reply.raw, closes });
  done();
}

/**
 * Answers what Node's parser refused, then closes. Only where the client waits for an answer: not
 * while another answer is being sent, nor after one that closed the connection (a client would
 * read ours as a second, unasked-for response). The close lingers: the rest of what the client
 * sends (a 100 KB URL, say) is read and dropped for up to 2 s, since closing with unread data
 * resets the connection, and the client may lose the answer.
 */
function answerClientError(e: Error, socket: Socket): void {
  const response = clientErrorResponse(e);
  const last = lastOnSocket.get(socket);
  if (response === undefined || !socket.writable || (last && (!last.answer.writableFinished || last.closes))) {
    socket.destroy();
    return;
  }
  socket.removeAllListeners('data'); // the HTTP parser's: it has failed and must not see more
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  socket.end(response);
  setTimeout(() => socket.destroy(), 2000).unref();
}

/** HTTP/1.1 requires Host (RFC 9112 §3.2); HTTP/1.0 requests without one pass, as the Host check lets them. */
function missingHost(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (request.headers.host !== undefined || request.raw.httpVersion === '1.0') return done();
  sendError(
    reply,
    new NimbusError(
      'bad_request',
      'an HTTP/1.1 request needs a Host header; send Host: 127.0.0.1:<port> (or the name you reached nimbus by)',
    ),
  );
}

/** Listens, or says which option moves the listener when its port is taken. */
export async function listenOrExplain(
  app: FastifyInstance,
  host: string,
  port: number,
  what: string,
  option: string,
): Promise<string> {
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
