// VM operations on sandboxes: list, create (pre-warm), delete, resize and
// migrate, for every engine that can. Engines that cannot answer 409 not_supported with why.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Invoker } from '../../engine/invoker.ts';
import type { FunctionsService } from '../functions-service.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { NimbusError } from '../../shared/errors.ts';

const ResizeBody = z
  .object({ memoryMb: z.number().int().min(64).max(65536).optional(), cpus: z.number().min(0.1).max(64).optional() })
  .strict()
  .refine((b) => b.memoryMb !== undefined || b.cpus !== undefined, 'give memoryMb and/or cpus');

const MigrateBody = z.object({ target: z.string().min(1).max(200).optional() }).strict();

export function sandboxRoutes(app: FastifyInstance, invoker: Invoker | undefined, functions: FunctionsService): void {
  const local = (): Invoker => {
    if (!invoker)
      throw new NimbusError('not_supported', 'this front end runs no invoker; manage sandboxes on an invoker node');
    return invoker;
  };

  // capacity: the invoker's platform-wide caps and what is admitted against them now.
  app.get('/v1/sandboxes', async () =>
    invoker ? { sandboxes: invoker.listSandboxes(), capacity: invoker.capacity.usage() } : { sandboxes: [] },
  );

  app.post<{ Params: { name: string } }>('/v1/functions/:name/sandboxes', async (request, reply) => {
    const fn = await functions.get(request.params.name);
    return reply.code(201).send(await local().prewarm(fn.name, fn.version));
  });

  app.delete<{ Params: { id: string } }>('/v1/sandboxes/:id', async (request) => {
    await local().deleteSandbox(request.params.id);
    return { deleted: request.params.id };
  });

  app.patch<{ Params: { id: string } }>('/v1/sandboxes/:id', async (request) => {
    if (!isJson(request)) throw new NimbusError('bad_request', 'send JSON {memoryMb?, cpus?}');
    const body = parseOrThrow(ResizeBody, parseJson(rawBody(request), 'the resize request'), 'resize request');
    return local().resizeSandbox(request.params.id, body);
  });

  app.post<{ Params: { id: string } }>('/v1/sandboxes/:id/migrate', async (request) => {
    const raw = rawBody(request);
    const body = raw.length ? parseOrThrow(MigrateBody, parseJson(raw, 'the migrate request'), 'migrate request') : {};
    return local().migrateSandbox(request.params.id, body);
  });

  app.get('/v1/engines', async () => ({ engines: invoker ? await invoker.drivers.report() : {} }));
}
