// Routes for activation records: one by id, or a filtered, paged list.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../storage/store.ts';
import { ACTIVATION_STATUSES, type ActivationStatus } from '../../storage/store.ts';
import { NimbusError } from '../../shared/errors.ts';
import { checkFunctionName } from '../build/function-spec.ts';

type ListQuery = { function?: string; status?: string; limit?: string; before?: string };

export function activationRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: string } }>('/v1/activations/:id', async (request) => {
    const record = await store.getActivation(request.params.id);
    if (!record) throw new NimbusError('not_found', `activation ${request.params.id.slice(0, 64)} does not exist`);
    return record;
  });

  app.get<{ Querystring: ListQuery }>('/v1/activations', async (request) => {
    const q = request.query;
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new NimbusError('bad_request', 'limit must be a whole number from 1 to 1000');
    if (q.status && !(ACTIVATION_STATUSES as readonly string[]).includes(q.status)) {
      throw new NimbusError('bad_request', `status must be one of ${ACTIVATION_STATUSES.join(', ')}`);
    }
    if (q.before && Number.isNaN(Date.parse(q.before))) throw new NimbusError('bad_request', 'before must be an ISO date-time');
    const activations = await store.listActivations({
      functionName: q.function ? checkFunctionName(q.function) : undefined,
      status: q.status as ActivationStatus | undefined,
      limit,
      before: q.before,
    });
    return { activations };
  });
}
