// VM operations on sandboxes: list, create (pre-warm), delete, resize and
// migrate, for every engine that can. Engines that cannot answer 409 not_supported with why.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Invoker } from '../../engine/invoker.ts';
import type { FunctionsService } from '../functions-service.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { NimbusError } from '../../shared/errors.ts';
import { inNamespace } from '../../tenancy/names.ts';
import { principalOf, type Principal } from '../../tenancy/principal.ts';
import { presentSandbox, scopedName } from '../../tenancy/scope.ts';

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
  /** The invoker, once the sandbox is known to be the caller's: another namespace's sandbox is a 404 like an unknown one. */
  const own = (p: Principal, id: string): Invoker => {
    const inv = local();
    const found = [...inv.listSandboxes(), ...inv.listStandby()].find((s) => s.id === id);
    if (found && !inNamespace(found.functionName, p.namespace))
      throw new NimbusError('not_found', `sandbox ${id.slice(0, 64)} does not exist on invoker ${inv.id}`);
    return inv;
  };

  // capacity: the invoker's platform-wide caps and what is admitted against them now.
  // Only the caller's namespace's sandboxes; the caps are the host's and shown to root alone.
  // Standby sandboxes (saved to disk, stopped) are listed too: state "standby" and diskBytes.
  app.get('/v1/sandboxes', async (request) => {
    const p = principalOf(request, 'read');
    if (!invoker) return { sandboxes: [] };
    const sandboxes = [...invoker.listSandboxes(), ...invoker.listStandby()]
      .filter((s) => inNamespace(s.functionName, p.namespace))
      .map(presentSandbox);
    return p.role === 'root' ? { sandboxes, capacity: invoker.capacity.usage() } : { sandboxes };
  });

  app.post<{ Params: { name: string } }>('/v1/functions/:name/sandboxes', async (request, reply) => {
    const fn = await functions.get(scopedName(principalOf(request, 'deploy'), request.params.name));
    if (fn.config.kind === 'sequence')
      throw new NimbusError(
        'not_supported',
        `"${request.params.name}" is a sequence: it runs no sandbox of its own; pre-warm its steps`,
      );
    return reply.code(201).send(presentSandbox(await local().prewarm(fn.name, fn.version)));
  });

  app.delete<{ Params: { id: string } }>('/v1/sandboxes/:id', async (request) => {
    await own(principalOf(request, 'deploy'), request.params.id).deleteSandbox(request.params.id);
    return { deleted: request.params.id };
  });

  app.patch<{ Params: { id: string } }>('/v1/sandboxes/:id', async (request) => {
    const p = principalOf(request, 'deploy');
    const inv = own(p, request.params.id);
    if (!isJson(request)) throw new NimbusError('bad_request', 'send JSON {memoryMb?, cpus?}');
    const body = parseOrThrow(ResizeBody, parseJson(rawBody(request), 'the resize request'), 'resize request');
    if (body.memoryMb !== undefined)
      await functions.checkMemoryQuota(p.namespace, body.memoryMb, `resize sandbox ${request.params.id.slice(0, 64)}`);
    return inv.resizeSandbox(request.params.id, body);
  });

  app.post<{ Params: { id: string } }>('/v1/sandboxes/:id/migrate', async (request) => {
    const inv = own(principalOf(request, 'deploy'), request.params.id);
    const raw = rawBody(request);
    const body = raw.length ? parseOrThrow(MigrateBody, parseJson(raw, 'the migrate request'), 'migrate request') : {};
    return inv.migrateSandbox(request.params.id, body);
  });

  // Engines are the host's, the same for every namespace: any key that may read sees them.
  app.get('/v1/engines', async (request) => {
    principalOf(request, 'read');
    return { engines: invoker ? await invoker.drivers.report() : {} };
  });
}
