// HTTP routes to functions, ANY /fn/:name and /fn/:name/* (also name:3 and
// name:alias, and /fn/~namespace/name/* for another namespace), served only on the function origin. On the management API the
// same paths answer 404 with the function origin's URL, so nothing a function
// answers comes from the API's origin.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError } from '../../shared/errors.ts';
import type { SqlDb } from '../../storage/sql-db.ts';
import { fnTarget } from '../../tenancy/fn-path.ts';
import { scopedRef } from '../targets.ts';
import { sendError } from '../http-errors.ts';
import type { InvocationsService } from '../invocations-service.ts';
import { httpInputOf } from '../request-body.ts';
import { sendOnFunctionOrigin } from '../run-reply.ts';

type Params = { name: string };

/** `sql`: where a `/fn/~ns/…` path's namespace is looked up (tenancy/fn-path.ts). */
export function functionOriginRoutes(app: FastifyInstance, invocations: InvocationsService, sql: SqlDb): void {
  const route = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    // The prefix as the client wrote it (name:prod may arrive as name%3Aprod): the function sees what follows.
    const { principal, ref: asked, prefix } = await fnTarget(request, sql);
    const ref = scopedRef(principal, asked);
    return sendOnFunctionOrigin(
      reply,
      await invocations.sync(ref, { kind: 'http', request: httpInputOf(request, prefix) }, 'http'),
    );
  };
  app.all<{ Params: Params }>('/fn/:name', route);
  app.all<{ Params: Params }>('/fn/:name/*', route);
}

/** On the management API: where the function route asked for is served instead. */
export function functionRoutesMoved(app: FastifyInstance, functionsUrl: () => string): void {
  const moved = (request: FastifyRequest, reply: FastifyReply) =>
    sendError(
      reply,
      new NimbusError(
        'not_found',
        `function routes are not served by the management API; they have their own origin: ${functionsUrl()}${request.url}`,
      ),
    );
  app.all('/fn/:name', moved);
  app.all('/fn/:name/*', moved);
}
