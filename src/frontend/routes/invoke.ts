// Routes for function serving on the management API: POST
// /v1/functions/:name/invoke (sync, or async with ?async=1 / Prefer:
// respond-async); :name may be name:3 or name:alias, or the call may say
// ?version= or ?alias= (targets.ts). HTTP routes (/fn/:name/*) live on the
// function origin.
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../shared/errors.ts';
import type { InvocationsService } from '../invocations-service.ts';
import { eventOf } from '../request-body.ts';
import { sendOnApiOrigin } from '../run-reply.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { scopedRef, targetPick } from '../targets.ts';

type Params = { name: string };

const ASYNC_VALUES = new Map([
  ['', true],
  ['1', true],
  ['true', true],
  ['0', false],
  ['false', false],
]);

/**
 * `?async` (alone, 1 or true) or `Prefer: respond-async`; `?async=0|false` is sync even with that
 * header (the query is the more specific ask); any other value is an error, not a guess.
 */
function wantsAsync(query: Record<string, string | string[]>, prefer: string | string[] | undefined): boolean {
  const q = query.async;
  const asked = typeof q === 'string' ? ASYNC_VALUES.get(q) : undefined;
  if (q !== undefined && asked === undefined) {
    throw new NimbusError(
      'bad_request',
      `async must be 1, true, 0 or false, not ${JSON.stringify(q)}; use ?async=1 to get 202 and an activation id`,
    );
  }
  return asked ?? String(prefer ?? '').includes('respond-async');
}

export function invokeRoutes(app: FastifyInstance, invocations: InvocationsService): void {
  app.post<{ Params: Params; Querystring: Record<string, string | string[]> }>(
    '/v1/functions/:name/invoke',
    async (request, reply) => {
      const name = scopedRef(principalOf(request, 'invoke'), request.params.name);
      const pick = targetPick(request.query);
      const input = { kind: 'event' as const, event: eventOf(request) };
      if (wantsAsync(request.query, request.headers.prefer)) {
        const key = request.headers['idempotency-key'];
        const accepted = await invocations.async(
          name,
          input,
          typeof key === 'string' && key ? key.slice(0, 256) : undefined,
          pick,
        );
        return reply
          .code(202)
          .header('x-nimbus-activation-id', accepted.activationId)
          .send({ activationId: accepted.activationId, duplicate: accepted.duplicate });
      }
      return sendOnApiOrigin(reply, await invocations.sync(name, input, 'sync', pick));
    },
  );
}
