// Routes for activation records: one by id, or a filtered, paged list.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../storage/store.ts';
import { ACTIVATION_STATUSES, type ActivationStatus } from '../../storage/store.ts';
import { NimbusError } from '../../shared/errors.ts';
import { checkFunctionName } from '../build/function-spec.ts';
import { inNamespace, qualify } from '../../tenancy/names.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { ofCurrentLife, recordsSince } from '../../tenancy/incarnation.ts';
import { presentActivation } from '../../tenancy/scope.ts';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

type ListQuery = { function?: string; status?: string; limit?: string; before?: string };

export function activationRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: string } }>('/v1/activations/:id', async (request) => {
    const p = principalOf(request, 'read');
    const record = await store.getActivation(request.params.id);
    // Another namespace's record is as absent as one that never was.
    if (
      !record ||
      !inNamespace(record.functionName, p.namespace) ||
      !ofCurrentLife(record.createdAt, await recordsSince(store.sql, p.namespace))
    )
      throw new NimbusError('not_found', `activation ${request.params.id.slice(0, 64)} does not exist`);
    return presentActivation(record);
  });

  app.get<{ Querystring: ListQuery }>('/v1/activations', async (request) => {
    const p = principalOf(request, 'read');
    const q = request.query;
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new NimbusError('bad_request', 'limit must be a whole number from 1 to 1000');
    if (q.status && !(ACTIVATION_STATUSES as readonly string[]).includes(q.status)) {
      throw new NimbusError('bad_request', `status must be one of ${ACTIVATION_STATUSES.join(', ')}`);
    }
    const activations = await store.listActivations({
      functionName: q.function ? qualify(p.namespace, checkFunctionName(q.function)) : undefined,
      namespace: p.namespace,
      status: q.status as ActivationStatus | undefined,
      limit,
      before: q.before ? isoTimeOf(q.before) : undefined,
      after: await recordsSince(store.sql, p.namespace), // not an earlier namespace's of the same name
    });
    return { activations: activations.map(presentActivation) };
  });
}

/** An ISO date or date-time, normalised (the store compares ISO strings); `before=1`, which Date.parse reads as 2001, is refused. */
function isoTimeOf(text: unknown): string {
  const time = typeof text === 'string' && ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time))
    throw new NimbusError('bad_request', 'before must be an ISO date-time, e.g. 2026-12-01T12:00:00Z (once)');
  return new Date(time).toISOString();
}
